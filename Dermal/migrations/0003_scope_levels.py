from django.db import migrations, models


def scope_from_out_of_scope(apps, schema_editor):
    """Rows recorded before the graded scope: out of scope was the only verdict (none for "unusual")."""
    Analysis = apps.get_model("Dermal", "Analysis")
    Analysis.objects.filter(out_of_scope=True).update(scope="not_a_lesion")
    Analysis.objects.filter(out_of_scope=False).update(scope="lesion")


class Migration(migrations.Migration):

    dependencies = [
        ('Dermal', '0002_trust_facts'),
    ]

    operations = [
        migrations.AddField(
            model_name='analysis',
            name='scope',
            field=models.CharField(blank=True, choices=[('lesion', 'lesion'), ('unusual', 'unusual'), ('not_a_lesion', 'not a lesion')], help_text='lesion, unusual (unlike the photos the model learnt from) or not a lesion', max_length=16),
        ),
        migrations.RunPython(scope_from_out_of_scope, migrations.RunPython.noop),
    ]
