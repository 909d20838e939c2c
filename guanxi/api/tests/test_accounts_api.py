"""Who am I, and the staff directory."""


def test_me_describes_the_caller(api_as, company):
    body = api_as("manager").get("/me").json()
    assert body == {
        "id": company.manager.pk,
        "username": "manager",
        "label": "manager",
        "role": "manager",
        "department": {"id": company.east.pk, "name": "East Sales"},
        "team": None,
        "may_view_sensitive": True,
    }
    rep = api_as("rep").get("/me").json()
    assert rep["team"] == {"id": company.team_a.pk, "name": "A"}
    assert rep["may_view_sensitive"] is False


def test_users_is_a_directory_without_private_details(api_as, company):
    company.rep_west.is_active = False
    company.rep_west.save()
    response = api_as("analyst").get("/users")
    assert response.status_code == 200
    users = response.json()
    assert [u["username"] for u in users] == sorted(
        name for name in company.users if name != "rep_west"
    )
    assert all(set(u) == {"id", "username", "label", "role", "department", "team"} for u in users)
    assert "@example.com" not in response.content.decode()
    assert "pbkdf2" not in response.content.decode() and "md5$" not in response.content.decode()
