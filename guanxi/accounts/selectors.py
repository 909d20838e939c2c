from django.db.models import QuerySet

from .models import ApiToken, User
from .roles import Role


def assignable_owners_for_user(user) -> QuerySet[User]:
    """Active users ``user`` may make account manager of a customer."""
    queryset = User.objects.filter(is_active=True).order_by("username")
    if user.is_superuser or user.role == Role.ADMIN:
        return queryset
    if user.role == Role.MANAGER and user.department_id:
        return queryset.filter(department_id=user.department_id)
    return queryset.filter(pk=user.pk)


def staff_directory_for_user(user) -> QuerySet[User]:
    """Colleagues a signed-in user may look up (names and roles only; everyone sees everyone,
    like a company phone book)."""
    if not user.is_authenticated:
        return User.objects.none()
    return (
        User.objects.filter(is_active=True)
        .select_related("team", "department")
        .order_by("username")
    )


def api_tokens_for_user(user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)
