from django.urls import path

from . import views

app_name = "dedup"
urlpatterns = [
    path("", views.duplicate_queue, name="queue"),
    path("hints/", views.duplicate_hints, name="hints"),
    path("<int:pair_id>/", views.duplicate_pair, name="pair"),
    path("<int:pair_id>/merge/", views.duplicate_merge, name="merge"),
    path("<int:pair_id>/reject/", views.duplicate_reject, name="reject"),
    path("merges/<int:merge_id>/undo/", views.merge_undo, name="undo"),
]
