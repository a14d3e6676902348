from django.urls import path

from . import views

urlpatterns = [
    path("", views.upload, name="upload"),
    path("api/predict/", views.api_predict, name="api_predict"),
    path("health/", views.health, name="health"),
    path("health/ready/", views.ready, name="ready"),
    path("memory/", views.memory, name="memory"),
    path("history/", views.history, name="history"),
    path("history/export.csv", views.history_csv, name="history_csv"),
]
