"""Configuration from the environment: the settings docs/configuration.md documents."""

from __future__ import annotations

import pytest

from keylight_actors.settings import Settings


def test_sessions_go_to_the_direct_url_when_the_main_one_is_pooled(monkeypatch):
    monkeypatch.setenv("KEYLIGHT_DATABASE_URL", "postgresql://keylight@pgbouncer:6432/keylight")
    monkeypatch.setenv("KEYLIGHT_DIRECT_DATABASE_URL", "postgresql://keylight@db:5432/keylight")
    settings = Settings.from_env()
    assert settings.database_url == "postgresql://keylight@pgbouncer:6432/keylight"
    assert settings.session_database_url == "postgresql://keylight@db:5432/keylight"


def test_without_a_direct_url_sessions_use_the_main_one(monkeypatch):
    monkeypatch.setenv("KEYLIGHT_DATABASE_URL", "postgresql://keylight@db:5432/keylight")
    monkeypatch.delenv("KEYLIGHT_DIRECT_DATABASE_URL", raising=False)
    assert Settings.from_env().session_database_url == "postgresql://keylight@db:5432/keylight"


def test_batching_and_commit_grouping_are_configurable(monkeypatch):
    monkeypatch.setenv("KEYLIGHT_HOST_BATCH_MAX", "16")
    monkeypatch.setenv("KEYLIGHT_HOST_BATCHES_IN_FLIGHT", "3")
    monkeypatch.setenv("KEYLIGHT_COMMIT_GROUP_MAX", "8")
    monkeypatch.setenv("KEYLIGHT_COMMITS_IN_FLIGHT", "2")
    settings = Settings.from_env()
    assert (settings.host_batch_max, settings.host_batches_in_flight,
            settings.commit_group_max, settings.commits_in_flight) == (16, 3, 8, 2)


def test_the_log_level_is_read_in_any_case_and_a_wrong_one_is_refused(monkeypatch):
    monkeypatch.setenv("KEYLIGHT_LOG_LEVEL", "warning")
    assert Settings.from_env().log_level == "WARNING"
    monkeypatch.setenv("KEYLIGHT_LOG_LEVEL", "chatty")
    with pytest.raises(ValueError, match="KEYLIGHT_LOG_LEVEL"):
        Settings.from_env()


def test_hosts_are_reached_over_the_link_unless_ray_calls_are_asked_for(monkeypatch):
    monkeypatch.delenv("KEYLIGHT_HOST_TRANSPORT", raising=False)
    assert Settings.from_env().host_transport == "link"
    monkeypatch.setenv("KEYLIGHT_HOST_TRANSPORT", " Ray ")
    assert Settings.from_env().host_transport == "ray"
    monkeypatch.setenv("KEYLIGHT_HOST_TRANSPORT", "carrier-pigeon")
    with pytest.raises(ValueError, match="KEYLIGHT_HOST_TRANSPORT"):
        Settings.from_env()
