from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create_view, name="create"),
    path("export/", views.customer_export_view, name="export"),
    path("exports/<int:job_id>/", views.customer_export_job_view, name="export_job"),
    path(
        "exports/<int:job_id>/download/",
        views.customer_export_download,
        name="export_download",
    ),
    path("reassign/", views.reassign_view, name="reassign"),
    path("recycle-bin/", views.recycle_bin, name="recycle_bin"),
    path(
        "recycle-bin/<int:customer_id>/",
        views.deleted_customer_detail,
        name="deleted_detail",
    ),
    path("organizations/lookup/", views.organization_lookup, name="organization_lookup"),
    path("<int:customer_id>/", views.customer_detail, name="detail"),
    path("<int:customer_id>/edit/", views.customer_edit_view, name="edit"),
    path("<int:customer_id>/delete/", views.customer_delete_view, name="delete"),
    path("<int:customer_id>/restore/", views.customer_restore_view, name="restore"),
    path("<int:customer_id>/reveal/", views.customer_reveal_view, name="reveal"),
    path("<int:customer_id>/timeline/", views.customer_timeline, name="timeline"),
    path("<int:customer_id>/history/", views.customer_history, name="history"),
]
