"""The alert rules through promtool (`make prometheus` installs it): they load, the scrape
config that includes them is valid, and alerts_test.yml fires every alert on the series that
should fire it and keeps it silent otherwise."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/prometheus/alerts.yml"
CONFIG = ROOT / "deploy/prometheus/prometheus.yml"
UNIT_TESTS = Path(__file__).with_name("alerts_test.yml")


def promtool(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not installed: run `make prometheus`", pytrace=False)
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)


def alert_rules(rules: dict) -> list[dict]:
    return [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]


def cases(unit_tests: dict) -> list[tuple[str, bool]]:
    """(alert name, whether the case expects it firing) for every alert_rule_test."""
    return [
        (case["alertname"], bool(case.get("exp_alerts")))
        for test in unit_tests["tests"]
        for case in test.get("alert_rule_test", [])
    ]


def test_rules_and_config_are_valid() -> None:
    for args in (("check", "rules", str(RULES)), ("check", "config", str(CONFIG))):
        checked = promtool(*args)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alert_unit_tests_pass() -> None:
    tested = promtool("test", "rules", str(UNIT_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    alerts = {rule["alert"] for rule in alert_rules(yaml.safe_load(RULES.read_text()))}
    tested = cases(yaml.safe_load(UNIT_TESTS.read_text()))
    assert len(alerts) == 5, alerts
    # A case for a name that is no alert would pass as "silent" without testing anything.
    assert {name for name, _ in tested} <= alerts
    for alert in alerts:
        assert (alert, True) in tested, f"{alert} is never shown firing"
        assert (alert, False) in tested, f"{alert} is never shown silent"


@pytest.mark.parametrize(
    "replacement", ["vector(1)", "vector(0) > 1"], ids=["always-true", "never-true"]
)
def test_unit_tests_catch_an_alert_that_always_or_never_fires(tmp_path, replacement) -> None:
    """The unit tests fail for each alert whose expression is replaced by one that is always
    (or never) true: its silent (firing) cases really check something."""
    rules = yaml.safe_load(RULES.read_text())
    unit_tests = yaml.safe_load(UNIT_TESTS.read_text())
    passed = []
    for broken in alert_rules(rules):
        original, broken["expr"] = broken["expr"], replacement
        (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules))
        broken["expr"] = original
        (tmp_path / "alerts_test.yml").write_text(
            yaml.safe_dump({**unit_tests, "rule_files": ["alerts.yml"]})
        )
        if promtool("test", "rules", str(tmp_path / "alerts_test.yml")).returncode == 0:
            passed.append(broken["alert"])
    assert not passed, f"the unit tests still pass with {replacement} as the expression of {passed}"
