from django.db import migrations

# The periodic recompute of costs (the backlog's "every 5 minutes"); operators may change the
# interval or disable it in the admin (Periodic tasks).
JOB = ("Recompute costs and record drift", "billing.tasks.recompute_costs", 5)


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
        ("billing", "0003_recompute"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
