"""Subgroup attributes move from auth groups named "subgroup:<attribute>=<value>" to their own table."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

PREFIX = "subgroup:"


def groups_to_attributes(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("accounts", "User")
    SubgroupAttribute = apps.get_model("accounts", "SubgroupAttribute")
    links = User.groups.through.objects.filter(group__name__startswith=PREFIX)
    synthetic = set(User.objects.filter(pk__in=links.values("user_id"), username__startswith="synthetic-")
                    .values_list("pk", flat=True))
    seen = set()
    rows = []
    for user_id, name in links.order_by("user_id", "group__name").values_list("user_id", "group__name").iterator():
        attribute, _, value = name.removeprefix(PREFIX).partition("=")
        attribute, value = attribute.strip()[:40], value.strip()[:60]
        if not attribute or not value or (user_id, attribute) in seen:
            continue  # malformed, or a second value for the same attribute: the first (sorted) wins
        seen.add((user_id, attribute))
        rows.append(SubgroupAttribute(user_id=user_id, attribute=attribute, value=value,
                                      source="synthetic" if user_id in synthetic else "imported"))
    SubgroupAttribute.objects.bulk_create(rows, batch_size=5000)
    Group.objects.filter(name__startswith=PREFIX).delete()


def attributes_to_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("accounts", "User")
    SubgroupAttribute = apps.get_model("accounts", "SubgroupAttribute")
    through = User.groups.through
    group_ids: dict[str, int] = {}
    links = []
    for user_id, attribute, value in SubgroupAttribute.objects.values_list("user_id", "attribute", "value").iterator():
        name = f"{PREFIX}{attribute}={value}"[:150]
        if name not in group_ids:
            group_ids[name] = Group.objects.get_or_create(name=name)[0].pk
        links.append(through(user_id=user_id, group_id=group_ids[name]))
    through.objects.bulk_create(links, batch_size=5000, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_external_identity"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.CreateModel(
            name="SubgroupAttribute",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("attribute", models.SlugField(max_length=40)),
                ("value", models.CharField(max_length=60)),
                ("source", models.CharField(choices=[("self_reported", "Self-reported"),
                                                     ("imported", "Imported by an administrator"),
                                                     ("synthetic", "Synthetic (generated)")],
                                            default="imported", max_length=16)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                           related_name="subgroup_attributes", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("user", "attribute"),
                                                        name="one_value_per_subgroup_attribute")],
                "indexes": [models.Index(fields=["attribute", "value"], name="subgroup_attribute_value")],
            },
        ),
        migrations.RunPython(groups_to_attributes, attributes_to_groups),
    ]
