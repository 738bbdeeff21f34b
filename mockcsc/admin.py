"""Django admin of the mock CSC: operators edit smart accounts, entitlements and faults here."""

from django.contrib import admin

from .models import (
    Entitlement,
    Fault,
    Registration,
    ReportedProductInstance,
    ReportedUsage,
    SmartAccount,
    VirtualAccount,
)

admin.site.site_header = "Cisco Software Central (mock)"
admin.site.site_title = "Cisco Software Central (mock)"


class VirtualAccountInline(admin.TabularInline):
    model = VirtualAccount
    extra = 0


@admin.register(SmartAccount)
class SmartAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "domain"]
    inlines = [VirtualAccountInline]


class EntitlementInline(admin.TabularInline):
    model = Entitlement
    extra = 0


@admin.register(VirtualAccount)
class VirtualAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "smart_account", "state"]
    list_filter = ["smart_account", "state"]
    inlines = [EntitlementInline]


@admin.register(Entitlement)
class EntitlementAdmin(admin.ModelAdmin):
    list_display = ["name", "virtual_account", "tag", "billing", "quantity", "product_type"]
    list_editable = ["quantity"]
    list_filter = ["virtual_account", "product_type"]


class ReportedProductInstanceInline(admin.TabularInline):
    model = ReportedProductInstance
    extra = 0


class ReportedUsageInline(admin.TabularInline):
    model = ReportedUsage
    extra = 0


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ["local_account", "satellite_name", "virtual_account", "last_synchronized"]
    readonly_fields = ["registration_id", "server_id", "created", "last_synchronized"]
    exclude = ["secret"]
    inlines = [ReportedProductInstanceInline, ReportedUsageInline]


@admin.register(Fault)
class FaultAdmin(admin.ModelAdmin):
    list_display = ["mode", "delay"]
