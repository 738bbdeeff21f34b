"""API clients get a scope per local account: read or write (existing grants: write)."""

import django.db.models.deletion
from django.db import migrations, models


def copy_grants(apps, schema_editor):
    ApiClient = apps.get_model("licensing", "ApiClient")
    ApiClientGrant = apps.get_model("licensing", "ApiClientGrant")
    ApiClientGrant.objects.bulk_create(
        ApiClientGrant(client_id=row.apiclient_id, account_id=row.localaccount_id, scope="write")
        for row in ApiClient.accounts.through.objects.all()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("licensing", "0004_license_transactions"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiClientGrant",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "scope",
                    models.CharField(
                        choices=[("read", "Read"), ("write", "Read and write")],
                        default="write",
                        max_length=8,
                    ),
                ),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_client_grants",
                        to="accounts.localaccount",
                    ),
                ),
                (
                    "client",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="grants",
                        to="licensing.apiclient",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("client", "account"), name="api_client_grant_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(copy_grants, migrations.RunPython.noop),
        migrations.RemoveField(model_name="apiclient", name="accounts"),
        migrations.AddField(
            model_name="apiclient",
            name="accounts",
            field=models.ManyToManyField(
                related_name="api_clients",
                through="licensing.ApiClientGrant",
                to="accounts.localaccount",
            ),
        ),
    ]
