from django.urls import path

from crm.core import views

urlpatterns = [
    path("", views.home_view, name="home"),
    path("trash/", views.trash_view, name="trash"),
    path("trash/<str:entity>/<int:pk>/restore", views.trash_restore_view, name="trash_restore"),
    path("trash/<str:entity>/<int:pk>/purge", views.trash_purge_view, name="trash_purge"),
]
