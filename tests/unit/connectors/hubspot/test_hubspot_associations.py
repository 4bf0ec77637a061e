"""Contact -> company association reading: primary choice and per-id paging."""

from __future__ import annotations

from typing import Any

from connectors.hubspot.associations import AssociationReader, merge_answer, pick_company

PRIMARY = {"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"}
PLAIN = {"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None}


def _to(company: int, *types: dict[str, object]) -> dict[str, object]:
    return {"toObjectId": company, "associationTypes": list(types)}


def test_primary_wins_over_lower_ids() -> None:
    """The primary association is the account even when another company has a lower id."""
    assert pick_company([_to(5, PLAIN), _to(900, PLAIN, PRIMARY)]) == "900"


def test_without_primary_the_lowest_id_numerically() -> None:
    """Without a primary, the lowest company id (numerically, 9 < 10) keeps the choice stable."""
    assert pick_company([_to(10, PLAIN), _to(9, PLAIN)]) == "9"


def test_primary_only_ignores_other_associations() -> None:
    """With ``primary_only`` a contact without a primary company has no account."""
    assert pick_company([_to(9, PLAIN)], primary_only=True) is None
    assert pick_company([]) is None


def test_merge_answer_collects_targets_and_pending_pages() -> None:
    """Targets accumulate per id; ids with ``paging.next.after`` come back for another round."""
    collected: dict[str, list[Any]] = {}
    data = {
        "results": [
            {"from": {"id": "1"}, "to": [_to(7, PLAIN)], "paging": {"next": {"after": "abc"}}},
            {"from": {"id": "2"}, "to": [_to(8, PRIMARY)]},
        ],
        "errors": [{"category": "OBJECT_NOT_FOUND", "context": {"fromObjectId": ["3"]}}],
    }
    assert merge_answer(data, collected) == {"1": "abc"}
    assert set(collected) == {"1", "2"}


class FakeTransport:
    """Serves canned association answers and records the request bodies."""

    def __init__(self, answers: list[dict[str, Any]]) -> None:
        """Serve ``answers`` in order."""
        self.answers = answers
        self.bodies: list[dict[str, Any]] = []

    def call(self, fn: Any, *, search: bool = False) -> dict[str, Any]:  # noqa: ARG002
        """Run the call once, as the real transport does on success."""
        return fn()  # type: ignore[no-any-return]


class FakeApi:
    """Stands in for the v4 batch API's ``get_page``."""

    def __init__(self, transport: FakeTransport) -> None:
        """Answer from ``transport``'s canned answers."""
        self.transport = transport

    def get_page(self, from_type: str, to_type: str, body: dict[str, Any], **_: object) -> dict[str, Any]:
        """Record the body and answer the next canned page."""
        assert (from_type, to_type) == ("contacts", "companies")
        self.transport.bodies.append(body)
        return self.transport.answers.pop(0)


def test_reader_follows_per_id_paging_and_batches_by_1000() -> None:
    """Ids go 1,000 per call; an id with more pages is asked again with its ``after``."""
    ids = [str(i) for i in range(1, 1202)]
    first = {"results": [{"from": {"id": "1"}, "to": [_to(50, PLAIN)], "paging": {"next": {"after": "p2"}}}]}
    second = {"results": [{"from": {"id": "1"}, "to": [_to(40, PLAIN, PRIMARY)]}]}
    third = {"results": [{"from": {"id": "1201"}, "to": [_to(3, PLAIN)]}]}
    transport = FakeTransport([first, second, third])
    reader = AssociationReader(FakeApi(transport), transport)  # type: ignore[arg-type]
    companies = reader.companies_of(ids)
    assert [len(b["inputs"]) for b in transport.bodies] == [1000, 1, 201]
    assert transport.bodies[1]["inputs"] == [{"id": "1", "after": "p2"}]
    assert companies["1"] == "40"
    assert companies["1201"] == "3"
    assert companies["2"] is None


def test_reader_stops_when_the_server_repeats_an_after() -> None:
    """A server that keeps naming the same ``after`` cannot loop the reader forever."""
    page = {"results": [{"from": {"id": "1"}, "to": [_to(5, PLAIN)], "paging": {"next": {"after": "same"}}}]}
    transport = FakeTransport([page, page, page])
    reader = AssociationReader(FakeApi(transport), transport)  # type: ignore[arg-type]
    assert reader.companies_of(["1"]) == {"1": "5"}
    assert len(transport.bodies) == 2
