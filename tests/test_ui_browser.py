"""The Dagster UI in a real browser (issue 7): `dagster dev` on loopback, driven by headless Debian
Chromium through Playwright. The test opens the asset lineage, launches a materialization from an
asset page and waits for it to succeed, then switches sources.yml to a corrupted KS2 file, launches
the publishing job from its page and checks that the UI shows the failing gate (`gx_raw_ks2`) while
the published database is left as it was.

Runs are launched by clicking in the UI; Dagster's GraphQL endpoint (on 127.0.0.1) is only read, to
wait for a run to finish. The server is started in its own process group and stopped by its PID.
Screenshots are written under the test's tmp folder (printed with ``-s``).
"""

from __future__ import annotations

import re
import shutil
import time
import urllib.parse
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.dagster_ui import (
    CHROMIUM,
    DagsterDev,
    first_visit_storage_state,
    is_launch_response,
    launch_browser,
    launched_run_id,
    loopback_only,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed (Debian package chromium)"),
]

KS2_FILE = REPO_ROOT / "raw/sample/ks2/ks2_la_timeseries.csv"
SN_FILE = REPO_ROOT / "raw/sample/statistical_neighbours/sn_model_wide.csv"
LINEAGE_SELECTION = 'key:"raw/ks2"+ and +key:"warehouse/education"'
TIMEOUT_MS = 60_000


def write_sources(path: Path, ks2_file: Path) -> None:
    """A small sources.yml (KS2 timeseries + statistical neighbours, absolute paths): quick runs."""
    spec = {"datasets": {"ks2": {"files": [str(ks2_file)]}, "statistical_neighbours": {"files": [str(SN_FILE)]}}}
    path.write_text(yaml.safe_dump(spec))


def corrupted_ks2(folder: Path) -> tuple[Path, int]:
    """The KS2 timeseries with St Helens' (342) headline percentage set to 140; returns the file
    and the 1-based line the raw gate must name."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = KS2_FILE.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    index = next(i for i, line in enumerate(lines) if ",342," in line and ",Total,Total,Total," in line)
    cells = lines[index].split(",")
    cells[header.index("pt_rwm_met_expected_standard")] = "140"
    lines[index] = ",".join(cells)
    bad = folder / KS2_FILE.name
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copyfile(KS2_FILE.with_name("ks2_la_timeseries.meta.csv"), folder / "ks2_la_timeseries.meta.csv")
    return bad, index + 1


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ui_browser")
    sources = workdir / "sources.yml"
    write_sources(sources, KS2_FILE)
    server = DagsterDev(workdir, sources)
    phase("prepare")
    server.prepare()
    phase(f"start dagster dev on {server.base_url}")
    server.start()
    try:
        server.wait_ready()
        # The instance's config (tests/dagster_ui.py INSTANCE_CONFIG) keeps the newsletter dialog away.
        assert server.graphql("{ shouldShowNux }") == {"shouldShowNux": False}
        phase("dagster dev ready")
        yield server
    finally:
        phase("stopping dagster dev")
        server.stop()
        phase(f"dagster dev (pid {server.process.pid}) stopped")
        assert server.process.poll() is not None, "dagster dev is still running after stop()"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, dagster_ui):
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    blocked: list[str] = []
    # A browser that has seen the UI before: no first-visit dialog can open over the page (and take
    # the keyboard focus) at a moment that depends on how loaded the machine is.
    context = browser.new_context(
        viewport={"width": 1600, "height": 1000},
        base_url=dagster_ui.base_url,
        storage_state=first_visit_storage_state(dagster_ui.base_url),
    )
    loopback_only(context, dagster_ui.base_url, blocked)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()
    if blocked:
        print(f"\nrequests outside loopback aborted: {blocked}")


@pytest.fixture
def shots(dagster_ui):
    folder = dagster_ui.workdir / "screenshots"
    folder.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path))
        assert_non_trivial(path)
        phase(f"screenshot {path}")
        return path

    return take


def assert_non_trivial(png: Path) -> None:
    import matplotlib.image
    import numpy as np

    pixels = matplotlib.image.imread(str(png))
    colours = np.unique((pixels.reshape(-1, pixels.shape[-1]) * 255).astype(np.uint8), axis=0)
    assert png.stat().st_size > 20_000 and len(colours) > 50, f"{png} looks blank ({len(colours)} colours)"


_T0 = time.monotonic()


def phase(message: str) -> None:
    print(f"\n[ui {time.monotonic() - _T0:6.1f}s] {message}", flush=True)


def launch_from_ui(page, button, timeout: float = 180) -> str:
    """Click a Materialize button, and the dialog's Confirm when Dagster asks for one; returns the
    run id the UI's own launch request was answered with."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    launches = []
    page.on("response", lambda response: launches.append(response) if is_launch_response(response) else None)
    button.click()
    # ingest_raw_files is a multi-asset that cannot be subset: Dagster lists the sibling tables
    # that will be materialized too and asks to confirm. A job's "Materialize all" launches at once.
    confirm = page.get_by_role("button", name="Confirm", exact=True)
    deadline = time.monotonic() + timeout
    while not launches:
        assert time.monotonic() < deadline, f"the UI launched no run within {timeout}s"
        if confirm.is_visible():
            try:
                # The dialog can close or re-render between the check and the click.
                confirm.click(timeout=2_000)
            except PlaywrightTimeoutError:
                pass
        page.wait_for_timeout(250)
    return launched_run_id(launches[0])


def type_selection(page, text: str) -> None:
    """Type ``text`` into the asset selection input (a CodeMirror editor) and run it with Enter.
    Keys go to whatever has the focus, and a "/" outside a text field opens the UI's search: so the
    editor must have the focus before the first key, and hold exactly ``text`` before Enter."""
    from playwright.sync_api import expect

    editor = page.locator(".CodeMirror").first
    editor.click()
    expect(editor).to_have_class(re.compile(r"\bCodeMirror-focused\b"))
    page.keyboard.type(text)
    assert editor.evaluate("element => element.CodeMirror.getValue()") == text
    page.keyboard.press("Enter")


def open_checks_tab(page) -> None:
    page.get_by_role("link", name="Checks", exact=True).or_(
        page.get_by_role("tab", name="Checks", exact=True)
    ).first.click()


def test_asset_graph_and_materialize_from_the_ui(page, dagster_ui, shots):
    from playwright.sync_api import expect

    write_sources(dagster_ui.sources, KS2_FILE)

    # The global asset lineage: every group from ingest to publish.
    page.goto("/asset-groups")
    for group in ("ingest", "staging", "marts", "publish"):
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    # Filter it to the path from raw/ks2 to the publication, as a person types it, and open the groups.
    type_selection(page, LINEAGE_SELECTION)
    expect(page).to_have_url(re.compile(re.escape(urllib.parse.quote(LINEAGE_SELECTION, safe=""))))
    page.get_by_role("button", name="settings", exact=True).click()
    page.get_by_role("menuitem", name=re.compile("Expand all groups")).click()
    page.keyboard.press("Escape")
    for node in ("ks2", "stg_ees__ks2", "fct_la_measure", "education"):
        expect(page.get_by_text(node, exact=True).first).to_be_visible()
    shots(page, "01_lineage_raw_ks2_to_publication")

    # Materialize raw/ks2 from its asset page (with its sibling raw tables and their GX checks).
    page.goto("/assets/raw/ks2")
    expect(page.get_by_text("raw.ks2: every landed ks2 file", exact=False)).to_be_visible()
    materialize = page.get_by_role("button").filter(has_text=re.compile(r"^\s*Materialize\s*$"))
    run_id = launch_from_ui(page, materialize)
    phase(f"launched run {run_id} from the raw/ks2 asset page")
    run = dagster_ui.wait_for_run(run_id)
    phase(f"run {run_id}: {run['status']}")
    steps = {s["stepKey"]: s["status"] for s in run["stepStats"]}
    assert run["status"] == "SUCCESS", (steps, dagster_ui.log_tail())
    assert steps.get("ingest_raw_files") == "SUCCESS" and steps.get("raw_gates") == "SUCCESS", steps
    assert "dbt_models" not in steps, "a small selection must not build the models"
    page.goto(f"/runs/{run_id}")
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    expect(page.get_by_text("RUN_SUCCESS", exact=True).first).to_be_visible()
    shots(page, "02_run_success")

    # The asset page now shows the materialization's metadata and the passing gate.
    page.goto("/assets/raw/ks2")
    expect(page.get_by_text("row_count", exact=True)).to_be_visible()
    expect(page.get_by_text(str(dagster_ui.sources), exact=True)).to_be_visible()
    open_checks_tab(page)
    expect(page.get_by_text("gx_raw_ks2", exact=True).first).to_be_visible()
    expect(page.get_by_text("Passed", exact=True).first).to_be_visible()
    shots(page, "03_gx_raw_ks2_passed")


def test_blocked_gate_run_shows_the_failing_check(page, dagster_ui, shots):
    from playwright.sync_api import expect

    bad_file, bad_line = corrupted_ks2(dagster_ui.workdir / "bad")
    write_sources(dagster_ui.sources, bad_file)
    # What BI tools read: a publication already in place (a stand-in, so the test stays quick).
    published = dagster_ui.warehouse / "education.duckdb"
    if not published.exists():
        published.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(published)) as con:
            con.execute("CREATE TABLE previous_publication AS SELECT 'kept' AS marker")
    before = (published.read_bytes(), published.stat().st_mtime_ns)

    # The publishing job, launched from its page in the UI.
    page.goto("/jobs")
    page.get_by_role("link", name=re.compile(r"\brefresh_and_publish\b")).first.click()
    expect(page.get_by_text("Land every source, build all models, run every gate", exact=False)).to_be_visible()
    materialize_all = page.get_by_role("button").filter(has_text=re.compile(r"^\s*Materialize all\s*$"))
    run_id = launch_from_ui(page, materialize_all)
    phase(f"launched refresh_and_publish run {run_id} from the job page")
    run = dagster_ui.wait_for_run(run_id)
    phase(f"run {run_id}: {run['status']}")
    steps = {s["stepKey"]: s["status"] for s in run["stepStats"]}
    assert run["jobName"] == "refresh_and_publish"
    assert run["status"] == "FAILURE", (steps, dagster_ui.log_tail())
    assert steps.get("raw_gates") == "FAILURE", steps
    assert "dbt_models" not in steps and not any(k.startswith("warehouse__") for k in steps), (
        f"nothing downstream of a failed blocking gate may run: {steps}"
    )
    # The run view: failed, the gate's step in error, and its check evaluation in the event log.
    page.goto(f"/runs/{run_id}")
    expect(page.get_by_text("RUN_FAILURE", exact=True).first).to_be_visible()
    expect(page.get_by_text("Failure", exact=True).first).to_be_visible()
    expect(page.get_by_text("raw_gates", exact=True).first).to_be_visible()
    page.get_by_placeholder(re.compile(r"^Filter(…|\.\.\.)$")).first.fill("gx_raw_ks2")
    failed_check = page.get_by_text(re.compile(r"Check gx_raw_ks2 failed for materialization of raw / ks2")).first
    expect(failed_check).to_be_visible()
    failed_check.scroll_into_view_if_needed()
    shots(page, "04_run_blocked_by_gate")

    # The asset's Checks tab names the failing check, why, and the file line at fault.
    page.goto("/assets/raw/ks2")
    open_checks_tab(page)
    expect(page.get_by_text("gx_raw_ks2", exact=True).first).to_be_visible()
    expect(page.get_by_text("Failed", exact=True).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"percentage within 0-100")).first).to_be_visible()
    expect(page.get_by_text(re.compile(rf"ks2_la_timeseries\.csv line {bad_line}\b")).first).to_be_visible()
    shots(page, "05_gx_raw_ks2_failed")

    # The publication was not touched.
    assert (published.read_bytes(), published.stat().st_mtime_ns) == before
    assert not list(dagster_ui.warehouse.glob(".education.duckdb.*.partial"))
