"""Smart Licensing Using Policy end to end with the real mock CSC: a product's signed RUM
report is applied (CLOSED), a synchronization sends it and brings CSC's acknowledgement
(ACK), and the product gets the acknowledgement on its next report; the same through the
air-gapped files."""

import json

import requests
from django.test import TestCase
from django.urls import reverse

from licensing.models import RumReport
from synchronization.choices import SyncStatus
from synchronization.services import (
    export_manual_sync_request,
    import_manual_sync_response,
    request_synchronization,
    run_synchronization,
)
from tests.accounts.helpers import CscPersonasMixin
from tests.licensing.support import PI_BASE, in_use, registered


class RumFlowTests(CscPersonasMixin, TestCase):
    csc_timeout = 2.0

    def sync(self, account):
        with self.captureOnCommitCallbacks(execute=False):
            job = request_synchronization(account, self.alice)
        return run_synchronization(job.pk)

    def cslu(self, account, reports):
        body = "<smartLicense>" + "".join(
            "<RUMReport><![CDATA[" + json.dumps(r) + "]]></RUMReport>" for r in reports
        )
        answer = self.client.post(
            f"/cslu/v1/pi/{account.name}-1", body + "</smartLicense>", "application/xml"
        )
        self.assertEqual(answer.status_code, 200, answer.content)
        return answer.json()["smartLicense"]

    def policy_tab(self, account):
        self.client.force_login(self.admin)
        url = reverse("licensing:inventory", args=["sl-using-policy"])
        return self.client.get(url, {"account": account.pk})

    def state(self, report_id):
        return RumReport.objects.get(report_id=report_id).state

    def test_open_closed_sent_acknowledged_delivered(self):
        account = self.registered_account()
        va = account.default_virtual_account
        device = registered(va, "pi37")
        first = self.cslu(account, [device.rum_report(1, PI_BASE, 3)])
        self.assertEqual(first, {"received": [{"report_id": "1", "status": "CLOSED"}], "ACK": []})
        self.assertEqual(in_use(PI_BASE), 3)  # applied at once
        self.assertContains(self.policy_tab(account), "1 waiting for CSC")
        job = self.sync(account)
        self.assertEqual(job.status, SyncStatus.SUCCEEDED, job.error)
        self.assertIn("1 RUM report(s) acknowledged", json.dumps(job.log))
        row = RumReport.objects.get(report_id="1")
        self.assertEqual(row.state, "ACK")
        self.assertIsNotNone(row.sent)
        self.assertIsNone(row.ack_delivered)
        self.assertContains(self.policy_tab(account), "handed over at its next report")
        # the product's next report carries the acknowledgement of the earlier one
        second = self.cslu(account, [device.rum_report(2, PI_BASE, 4)])
        self.assertEqual([a["report_id"] for a in second["ACK"]], ["1"])
        self.assertEqual(second["received"], [{"report_id": "2", "status": "CLOSED"}])
        # handed over once; another product is not handed this one's
        other = registered(va, "cucm-pub-30")
        self.assertEqual(self.cslu(account, [other.rum_report(7, PI_BASE, 1)])["ACK"], [])
        self.assertEqual(self.cslu(account, [device.rum_report(2, PI_BASE, 4)])["ACK"], [])
        self.assertEqual(self.state("2"), "CLOSED")
        self.sync(account)
        self.assertEqual({r.state for r in RumReport.objects.all()}, {"ACK"})
        self.cslu(account, [device.rum_report(3, PI_BASE, 4)])
        self.cslu(account, [other.rum_report(8, PI_BASE, 1)])
        self.sync(account)
        self.cslu(account, [device.rum_report(4, PI_BASE, 4)])
        self.cslu(account, [other.rum_report(9, PI_BASE, 1)])
        self.sync(account)
        self.cslu(account, [device.rum_report(5, PI_BASE, 4)])
        page = self.policy_tab(account)
        self.assertContains(page, 'data-testid="reporting-product"', count=2)
        self.assertContains(page, "1 waiting for CSC", count=1)

    def test_a_failed_synchronization_keeps_reports_waiting(self):
        account = self.registered_account()
        device = registered(account.default_virtual_account, "pi37")
        self.cslu(account, [device.rum_report(1, PI_BASE, 3)])
        self.csc.fail("server_error")
        job = self.sync(account)
        self.assertEqual(job.status, SyncStatus.FAILED)
        self.assertEqual(self.state("1"), "CLOSED")
        self.csc.heal()
        self.assertEqual(self.sync(account).status, SyncStatus.SUCCEEDED)
        self.assertEqual(self.state("1"), "ACK")

    def test_air_gapped_files_carry_reports_and_acknowledgements(self):
        account = self.registered_account()
        device = registered(account.default_virtual_account, "pi37")
        self.cslu(account, [device.rum_report(5, PI_BASE, 2)])
        _, request_file = export_manual_sync_request(account, self.alice)
        self.assertEqual(
            [r["report_id"] for r in json.loads(request_file)["payload"]["rum_reports"]], ["5"]
        )
        answer = requests.post(
            self.csc.url + "/api/v1/manual-sync",
            data=request_file,
            headers={"Content-Type": "application/json"},
            verify=self.csc.ca_file,
            timeout=10,
        )
        answer.raise_for_status()
        self.assertEqual(self.state("5"), "CLOSED")
        job = import_manual_sync_response(account, answer.content, self.alice)
        self.assertEqual(job.status, SyncStatus.SUCCEEDED)
        self.assertEqual(self.state("5"), "ACK")
        later = self.cslu(account, [device.rum_report(6, PI_BASE, 2)])
        self.assertEqual([a["report_id"] for a in later["ACK"]], ["5"])
