app_name = "interactions"
urlpatterns: list = []
