from django.urls import path

from . import views

app_name = "imports"
urlpatterns = [
    path("", views.import_list, name="list"),
    path("new/", views.import_new, name="new"),
    path("<int:job_id>/", views.import_detail, name="detail"),
    path("<int:job_id>/resume/", views.import_resume, name="resume"),
    path("<int:job_id>/cancel/", views.import_cancel, name="cancel"),
    path("<int:job_id>/discard/", views.import_discard, name="discard"),
    path("<int:job_id>/mapping/", views.import_mapping, name="mapping"),
    path("<int:job_id>/for-real/", views.import_for_real, name="for_real"),
    path("<int:job_id>/errors.csv", views.import_error_file, name="errors"),
]
