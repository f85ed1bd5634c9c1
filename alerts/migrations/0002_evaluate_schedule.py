from django.db import migrations

# The periodic evaluation of alert rules; operators may change the interval or disable it in
# the admin (Periodic tasks).
JOB = ("Evaluate alert rules and deliver notifications", "alerts.tasks.evaluate_alerts", 1)


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
        ("alerts", "0001_initial"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
