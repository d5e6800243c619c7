"""Shared fixtures: a working folder holding a real campaign (see campaign.py)."""

from __future__ import annotations

import pytest
from campaign import campaign_folder


@pytest.fixture(scope="session")
def campaign_factory_root(tmp_path_factory):
    return tmp_path_factory.mktemp("campaigns")


@pytest.fixture
def make_campaign(tmp_path, campaign_factory_root):
    """make_campaign(years=(2024,)) → a working folder with every partner's clean returns."""

    def make(years=(2024,)):
        return campaign_folder(tmp_path, campaign_factory_root, tuple(years))

    return make
