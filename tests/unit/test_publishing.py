"""公开曝光: publishing a problem as a typical case and taking it back (ledger rules), and
the public page and its files (the gateway, with a stand-in ledger)."""
from __future__ import annotations

import hashlib
import io

import pytest

from services.ledger.domain.lifecycle import IllegalTransition
from services.ledger.refusals import refusal
from fastapi.testclient import TestClient
from PIL import Image

from contracts.vocabulary import Action, State
from gateway.app import create_app
from gateway.files.index import UPLOADER, FileRecord
from kit.settings import Settings
from services.ledger.domain.actions import InvalidInput, perform
from services.ledger.domain.access import NotPermitted, check_permitted
from tests.unit.test_ledger_access import CAMPAIGN, EDU, HANDLER, SPOT
from tests.unit.test_ledger_access import problem as access_problem
from tests.unit.test_ledger_lifecycle import OFFICE, SUPERVISOR, bare, ctx
from tests.unit.test_tus_uploads import GPS, jpeg_with_gps

SECRET = "unit-test-secret-that-is-long-enough-0123456789"
PUBLISH = {"found": "工作时间窗口长时间无人值守,群众排队等候。",
           "done": "责令整改,对值班负责人诫勉谈话,窗口实行首问负责。",
           "evidence": [{"description": "现场照片", "sha256": "ab" * 32}]}


@pytest.mark.parametrize("state", list(State))
def test_the_county_office_publishes_in_any_state_and_the_state_stays(state):
    problem = bare(state)
    change = perform(problem, Action.PUBLISH, OFFICE, PUBLISH, ctx())
    assert problem.state is state
    shown = problem.details["published"]
    assert shown["found"] == PUBLISH["found"] and shown["media"] == PUBLISH["evidence"]
    assert change.data["done"] == PUBLISH["done"]  # the chain entry says what was shown
    taken = perform(problem, Action.UNPUBLISH, OFFICE, {"reason": "当事单位已整改完毕,撤下"}, ctx())
    assert "published" not in problem.details and taken.data["reason"]


def test_only_the_county_office_publishes_and_nothing_unpublished_is_taken_back():
    problem = bare(State.DISPATCHED)
    for actor in (SUPERVISOR, EDU, HANDLER, SPOT):
        with pytest.raises(NotPermitted):
            check_permitted(CAMPAIGN, actor, Action.PUBLISH, access_problem("sch_1"), {})
    check_permitted(CAMPAIGN, OFFICE, Action.UNPUBLISH, access_problem("sch_1"), {})
    with pytest.raises(IllegalTransition) as refused:   # 409, and the page offers no button
        perform(problem, Action.UNPUBLISH, OFFICE, {"reason": "没有公开过的案例"}, ctx())
    assert "未公开曝光" in refusal(refused.value).message_zh
    with pytest.raises(InvalidInput):
        perform(problem, Action.PUBLISH, OFFICE, {"found": "", "done": "x" * 10}, ctx())
    assert "published" not in problem.details


class Ledger:
    connected = True

    def __init__(self):
        self.cases: list[dict] = []

    def start(self):
        pass

    def stop(self):
        pass

    async def call(self, service, method, **kwargs):
        assert (service, method) == ("ledger", "published_cases")
        return [dict(c, media=[dict(m) for m in c["media"]]) for c in self.cases]

    async def publish_event(self, event):
        pass


@pytest.fixture
def ledger():
    return Ledger()


@pytest.fixture
def client(tmp_path, ledger):
    settings = Settings(environment="development", secret_key=SECRET, data_dir=tmp_path)
    with TestClient(create_app(settings, broker=ledger), raise_server_exceptions=False) as c:
        yield c


def stored(client, data: bytes, redacted: bytes, kind: str, media_type: str) -> FileRecord:
    files = client.app.state.files
    blobs = []
    for content in (data, redacted):
        writer = files.store.writer()
        writer.write(content)
        blobs.append(writer.commit())
    record = FileRecord(blobs[0].sha256, media_type, kind, len(data), blobs[1].sha256,
                        len(redacted), "x")
    files.index.record(record, [(UPLOADER, "media")])
    return record


def test_the_public_page_shows_published_cases_chinese_first_with_redacted_media(client, ledger):
    photo = jpeg_with_gps()
    clean = io.BytesIO()
    Image.open(io.BytesIO(photo)).save(clean, "JPEG")
    image = stored(client, photo, clean.getvalue(), "image", "image/jpeg")
    document = stored(client, b"%PDF-1.4 report", b"%PDF-1.4 report", "document",
                      "application/pdf")
    ledger.cases = [{"problem_id": "p-1", "title": "便民服务中心窗口无人值守 <b>",
                     "unit_name": "某镇人民政府", "published_on": "2017-11-02",
                     "found": PUBLISH["found"], "done": PUBLISH["done"], "media": [
                         {"description": "现场照片", "sha256": image.sha256},
                         {"description": "报告", "sha256": document.sha256}]}]
    page = client.get("/exposures")
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    html = page.text
    assert html.index("公开曝光典型案例") < html.index("Published typical cases")
    assert "便民服务中心窗口无人值守 &lt;b&gt;" in html and PUBLISH["done"] in html
    url = f"/api/v1/published-cases/p-1/media/{image.sha256}"
    assert url in html
    served = client.get(url)
    assert served.status_code == 200 and served.headers["x-file-copy"] == "redacted"
    assert hashlib.sha256(served.content).hexdigest() == image.redacted_sha256
    assert not Image.open(io.BytesIO(served.content)).getexif().get_ifd(GPS)
    # a document has no redacted copy: never served publicly; nor a file no case shows
    assert client.get(f"/api/v1/published-cases/p-1/media/{document.sha256}").status_code \
        == 404
    assert client.get(f"/api/v1/published-cases/p-2/media/{image.sha256}").status_code == 404
    assert client.get("/api/v1/published-cases").json()["cases"][0]["problem_id"] == "p-1"


def test_an_empty_page_says_so(client):
    assert "暂无公开曝光的案例" in client.get("/exposures").text
