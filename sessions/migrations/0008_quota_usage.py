from django.db import migrations, models

# Measures every organization's workspaces on disk for its quotas; operators may change the
# interval or disable it in the admin (Periodic tasks).
JOB = ("Measure workspace usage for quotas", "sessions.tasks.measure_usage", 10)


def add_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    name, task, minutes = JOB
    every, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
    PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": every})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=JOB[0]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("agent_sessions", "0007_input_caps"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="session",
            index=models.Index(fields=["organization", "created_at"], name="session_org_created"),
        ),
        migrations.RunPython(add_schedule, remove_schedule),
    ]
