from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("content", "0003_short_answer")]

    operations = [
        migrations.AddField(
            model_name="competency",
            name="staff_only",
            field=models.BooleanField(
                default=False,
                help_text="For faculty and administrators only (e.g. faculty training): students never see this "
                          "competency, anything below it, or its items and cards."),
        ),
    ]
