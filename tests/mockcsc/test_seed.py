"""The seed data covers the spec's licenses."""

from django.test import SimpleTestCase

from mockcsc import catalog as seed


class SeedTests(SimpleTestCase):
    def test_spec_licenses_with_product_types(self):
        names = {name: ptype for name, _, _, ptype in seed.ALL_LICENSES}
        for name in (
            "Prime Infrastructure 3.x, Base Lic",
            "Prime Infrastructure 3.x, Assurance Lic",
            "Prime Infrastructure 3.x, Lifecycle Lic",
        ):
            self.assertEqual(names[name], "SDNMGMT")
        for tier in ("Essential", "Basic", "Enhanced", "Enhanced Plus", "Telepresence Room"):
            self.assertEqual(names[f"UC Manager {tier} License (12.x)"], "UCL")
        self.assertTrue(all(q == 0 for _, _, q, _ in seed.VIRTUAL_ACCOUNTS["Lab"]))

    def test_seeded_tags_are_the_tags_products_ask_for(self):
        from licensing.catalog import BY_TAG

        for name, tag, _, product_type in seed.ALL_LICENSES:
            if "Telepresence" in name:
                continue
            with self.subTest(tag=tag):
                self.assertIn(tag, BY_TAG)
                self.assertEqual(BY_TAG[tag].product_type, product_type)
