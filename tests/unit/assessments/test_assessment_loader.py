"""The assessment policy file: the shipped one loads for both CRMs, each mistake is reported at its line with a fix."""

from __future__ import annotations

import json
import shutil
from datetime import time
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner

from sync_daemon.cli import main
from sync_daemon.config.assessment_checks import CRM_FIELDS_PUSH
from sync_daemon.config.assessment_loader import (
    ASSESSMENTS_FILE,
    ASSESSMENTS_SCHEMA_FILE,
    assessments_json_schema,
    assessments_schema_text,
    load_assessments,
    validate_assessments,
)
from sync_daemon.config.assessment_models import ChoiceQuestion, ScaleQuestion
from sync_daemon.config.errors import ConfigError
from sync_daemon.config.loader import load_mapping
from sync_daemon.config.models import MappingFile
from sync_daemon.config.yaml_positions import read_yaml

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "config"
SHIPPED = CONFIG / ASSESSMENTS_FILE
TEXT = SHIPPED.read_text(encoding="utf-8")
MAPPING_FILES = {"salesforce": ROOT / "mappings" / "salesforce.yaml", "hubspot": ROOT / "mappings" / "hubspot.yaml"}
PERSONAS = ["decision_maker", "champion", "end_user", "business_influencer", "unknown"]
RECOMMEND_CHANGE = (
    "If a colleague asked for a recommendation, how has your ability to recommend us changed over the past six months?"
)
RECOMMEND = "If you were in a position to do so, how likely would you be to recommend us to a colleague?"

# Unique anchors in the shipped text, so each test edits one place.
QUOTED_ID = "'701123'"
ONBOARDING_CHANNEL = (
    "      type: crm_fields                  # write the contact's assessment request fields; a CRM workflow sends it"
)
RELATIONSHIP_CHANNEL = "    channel:\n      type: crm_fields\n    # Other channels"
ONBOARDING_PERSONAS = (
    "    personas: [decision_maker, champion, end_user, business_influencer, unknown]   # who receives it"
)
COVERAGE = "  expected: [decision_maker, champion, end_user]"
PER_DAY = "  per_day: 500                          # sends per day, all accounts together\n"


def mapping(crm: str, *, drop: tuple[str, ...] = ()) -> MappingFile:
    """The shipped mapping of ``crm`` with the contact push fields the crm_fields channel writes (but ``drop``)."""
    data = load_mapping(MAPPING_FILES[crm]).model_dump(exclude_none=True)
    push = data["contacts"]["push"]
    push.update({name: name for name in CRM_FIELDS_PUSH if name not in push})
    for name in drop:
        del push[name]
    return MappingFile.model_validate(data)


def edited(old: str, new: str, text: str = TEXT) -> str:
    """``text`` with its one occurrence of ``old`` replaced."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line containing ``needle``."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(found) == 1, (needle, found)
    return found[0]


def at(text: str, needle: str, on: str | None = None) -> str:
    """``line:column`` where ``needle`` starts on the only line containing ``on`` (default: the needle)."""
    line = line_of(text, on or needle)
    return f"{line}:{text.splitlines()[line - 1].index(needle) + 1}"


def problems(tmp_path: Path, text: str, crm: str = "hubspot", *, drop: tuple[str, ...] = ()) -> list[str]:
    """The problems of ``text`` as ``line:column: message; hint`` (the file name left out)."""
    path = tmp_path / ASSESSMENTS_FILE
    path.write_text(text, encoding="utf-8")
    return [p.render().removeprefix(f"{path}:") for p in validate_assessments(path, mapping(crm, drop=drop))]


def uncommented(text: str, first: str) -> str:
    """``text`` with the commented-out example starting at the line containing ``first`` made live."""
    lines = text.splitlines(keepends=True)
    start = line_of(text, first) - 1
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and lines[end].startswith(" " * indent + "#   "):
        end += 1
    for n in range(start, end):
        lines[n] = lines[n][:indent] + lines[n][indent + 2 :]
    return "".join(lines)


# --- the shipped file ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("crm", sorted(MAPPING_FILES))
def test_the_shipped_policy_is_clean_against_each_shipped_mapping(crm: str) -> None:
    """config/assessments.yaml has no problem with mappings/<crm>.yaml as shipped (its contact push fields too)."""
    assert [p.render() for p in validate_assessments(SHIPPED, load_mapping(MAPPING_FILES[crm]))] == []


def test_the_shipped_policy_says_what_the_domain_asks() -> None:
    """Onboarding at the handoff, relationship every six months with DOMAIN.md's two questions word for word."""
    policy = load_assessments(SHIPPED, mapping("salesforce"))
    assert (policy.version, policy.revision, list(policy.kinds)) == (1, 1, ["onboarding", "relationship"])
    onboarding, relationship = policy.kinds["onboarding"], policy.kinds["relationship"]
    assert (onboarding.cadence.at, onboarding.cadence.valid_days, onboarding.cadence.every_months) == (
        "handoff", 30, None
    )  # fmt: skip
    assert onboarding.questions == [
        ScaleQuestion(id="prepared", text="How well did onboarding prepare you to succeed with us?", scale=(0, 10))
    ]
    assert (relationship.cadence.at, relationship.cadence.every_months) == (None, 6)
    assert relationship.questions == [
        ChoiceQuestion(id="recommend_change", text=RECOMMEND_CHANGE, choices=["better", "same", "worse"]),
        ScaleQuestion(id="recommend", text=RECOMMEND, scale=(0, 10)),
    ]
    for kind in (onboarding, relationship):
        assert (kind.personas, kind.channel.type) == (PERSONAS, "crm_fields")
    assert policy.label("onboarding") == "onboarding"


def test_the_shipped_unknown_persona_question_throttle_and_coverage() -> None:
    """One sentence per mapping persona, the 30-day gap, caps of 5 and 500, no window, three expected personas."""
    policy = load_assessments(SHIPPED, mapping("hubspot"))
    assert policy.unknown_persona.choices == {
        "decision_maker": "I decide whether we buy or renew.",
        "champion": "I promote the product inside my company.",
        "end_user": "I use the product in my daily work.",
        "business_influencer": "I advise on the purchase or shape its requirements.",
    }
    throttle = policy.throttle
    assert (throttle.min_gap_days, throttle.per_account_per_day, throttle.per_day, throttle.window) == (
        30,
        5,
        500,
        None,
    )
    assert policy.coverage.expected == ["decision_maker", "champion", "end_user"]


def test_the_shipped_schema_is_generated_and_accepts_the_shipped_file() -> None:
    """config/assessments.schema.json equals the generated schema, the YAML names it, and it validates the file."""
    assert (CONFIG / ASSESSMENTS_SCHEMA_FILE).read_text(encoding="utf-8") == assessments_schema_text()
    assert TEXT.splitlines()[0] == f"# yaml-language-server: $schema=./{ASSESSMENTS_SCHEMA_FILE}"
    jsonschema.validate(read_yaml(SHIPPED).data, assessments_json_schema())
    assert json.loads(assessments_schema_text())["title"] == "Assessment policy"


def test_the_commented_window_example_is_valid_when_uncommented(tmp_path: Path) -> None:
    """The window example in the comments loads as written: weekdays, 09:00 to 17:00, Europe/Berlin."""
    path = tmp_path / ASSESSMENTS_FILE
    path.write_text(uncommented(TEXT, "  # window:"), encoding="utf-8")
    window = load_assessments(path, mapping("hubspot")).throttle.window
    assert window is not None
    assert (window.days, window.start, window.end, window.timezone) == (
        ["mon", "tue", "wed", "thu", "fri"], time(9), time(17), "Europe/Berlin"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("example", "crm", "kind"),
    [
        ("# Salesforce:", "salesforce", "salesforce_campaign"),
        ("# HubSpot:", "hubspot", "hubspot_list"),
        ("# a survey tool:", "hubspot", "webhook"),
    ],
)
def test_each_commented_channel_example_is_valid_for_its_crm(tmp_path: Path, example: str, crm: str, kind: str) -> None:
    """Each channel example in the comments, put in place of the relationship channel, loads for its CRM."""
    text = uncommented(edited(RELATIONSHIP_CHANNEL, "    # Other channels"), example)
    path = tmp_path / ASSESSMENTS_FILE
    path.write_text(text, encoding="utf-8")
    channel = load_assessments(path, mapping(crm)).kinds["relationship"].channel
    assert channel.type == kind


# --- personas ---------------------------------------------------------------------------------------------------


def test_an_unknown_persona_is_reported_where_it_is_named_with_the_closest_one(tmp_path: Path) -> None:
    """Misspelt personas in a kind, in coverage and in the unknown-persona choices: each at its line and column."""
    text = edited(ONBOARDING_PERSONAS, ONBOARDING_PERSONAS.replace("end_user,", "end_usr,"))
    text = edited(COVERAGE, "  expected: [decision_maker, champoin, end_user]", text)
    text = edited("    end_user: I use", "    enduser: I use", text)
    assert problems(tmp_path, text) == [
        f"{at(text, 'end_usr')}: unknown persona 'end_usr' in kinds.onboarding.personas; did you mean 'end_user'?",
        f"{at(text, 'enduser')}: unknown persona 'enduser' in unknown_persona.choices; did you mean 'end_user'?",
        f"{at(text, 'champoin')}: unknown persona 'champoin' in coverage.expected; did you mean 'champion'?",
    ]


def test_a_persona_far_from_any_names_the_mapping_and_its_personas(tmp_path: Path) -> None:
    """A name close to nothing lists the CRM mapping's personas and says where to add one."""
    text = edited(COVERAGE, "  expected: [decision_maker, procurement]")
    assert problems(tmp_path, text, "salesforce") == [
        (
            f"{at(text, 'procurement')}: unknown persona 'procurement' in coverage.expected; the Salesforce "
            "mapping's personas are decision_maker, champion, end_user, business_influencer; "
            "add a new one to its personas.names"
        )
    ]


def test_a_persona_added_to_the_mapping_is_accepted(tmp_path: Path) -> None:
    """Personas come from the mapping's personas.names, not a fixed list: a new name there is valid here."""
    data = mapping("hubspot").model_dump(exclude_none=True)
    data["personas"]["names"].append("procurement")
    path = tmp_path / ASSESSMENTS_FILE
    path.write_text(edited(COVERAGE, "  expected: [decision_maker, procurement]"), encoding="utf-8")
    assert validate_assessments(path, MappingFile.model_validate(data)) == []


def test_unknown_is_a_persona_to_send_to_but_not_a_choice_of_the_unknown_persona_question(tmp_path: Path) -> None:
    """'unknown' is fine in a kind's personas and in coverage; among the sentences it is refused at its key."""
    text = edited("    end_user: I use", "    unknown: I do not know.\n    end_user: I use")
    text = edited(COVERAGE, "  expected: [decision_maker, unknown]", text)
    assert problems(tmp_path, text) == [
        (
            f"{at(text, 'unknown: I do not know')}: 'unknown' cannot be a choice of unknown_persona.choices; "
            "remove it: the contact picks one of the known personas"
        )
    ]


def test_a_persona_listed_twice_is_reported_at_the_second(tmp_path: Path) -> None:
    """The same persona twice in a kind's personas is reported at its second mention."""
    text = edited(ONBOARDING_PERSONAS, "    personas: [champion, end_user, champion]")
    assert problems(tmp_path, text) == [
        f"{at(text, 'champion]')}: persona 'champion' is listed twice in kinds.onboarding.personas"
    ]


# --- channels ---------------------------------------------------------------------------------------------------


def test_a_salesforce_campaign_needs_a_salesforce_mapping(tmp_path: Path) -> None:
    """With the HubSpot mapping, a campaign channel is refused at its type, naming the CRM and the channels left."""
    channel = "    channel: {type: salesforce_campaign, campaign_id: 701000000000001AAA}\n    # Other channels"
    text = edited(RELATIONSHIP_CHANNEL, channel)
    assert problems(tmp_path, text, "salesforce") == []
    assert problems(tmp_path, text, "hubspot") == [
        (
            f"{at(text, 'salesforce_campaign, campaign_id')}: the salesforce_campaign channel needs a "
            "Salesforce mapping; this mapping is for HubSpot; with HubSpot, use crm_fields, hubspot_list, webhook"
        )
    ]


def test_a_hubspot_list_needs_a_hubspot_mapping(tmp_path: Path) -> None:
    """With the Salesforce mapping, a list channel is refused at its type, naming the CRM."""
    text = edited(
        RELATIONSHIP_CHANNEL, "    channel: {type: hubspot_list, lists: {default: '100'}}\n    # Other channels"
    )
    assert problems(tmp_path, text, "hubspot") == []
    assert problems(tmp_path, text, "salesforce") == [
        (
            f"{at(text, 'hubspot_list, lists')}: the hubspot_list channel needs a HubSpot mapping; this mapping "
            "is for Salesforce; with Salesforce, use crm_fields, salesforce_campaign, webhook"
        )
    ]


def test_hubspot_lists_must_cover_every_persona_of_the_kind(tmp_path: Path) -> None:
    """Personas of the kind without a list (and no default) are named at lists; a misspelt key gets its fix."""
    channel = "    channel:\n      type: hubspot_list\n      lists: {decision_maker: '101', Champion: '102'}\n"
    text = edited(RELATIONSHIP_CHANNEL, channel + "    # Other channels")
    assert problems(tmp_path, text) == [
        (
            f"{at(text, '{decision_maker', 'Champion')}: no list for champion, end_user, business_influencer, unknown "
            "in kinds.relationship.channel.lists; "
            "add a list id for each, or default: '<list id>' for every persona without its own"
        ),
        (
            f"{at(text, 'Champion')}: unknown persona 'Champion' in kinds.relationship.channel.lists; "
            "did you mean 'champion'?"
        ),
    ]
    with_default = edited("Champion: '102'", "champion: '102', default: '100'", text)
    assert problems(tmp_path, with_default) == []


def test_the_crm_fields_channel_needs_the_request_push_fields(tmp_path: Path) -> None:
    """A mapping without some request fields is told which ones, at each crm_fields channel's type."""
    found = problems(tmp_path, TEXT, drop=("assessment_cycle", "assessment_requested_at"))
    missing = "assessment_cycle, assessment_requested_at; add them to contacts.push of the mapping, e.g. "
    assert found == [
        (
            f"{at(TEXT, 'crm_fields', ONBOARDING_CHANNEL)}: the crm_fields channel of kind 'onboarding' writes contact "
            f"fields the HubSpot mapping does not push: {missing}assessment_cycle: <the CRM field>"
        ),
        (
            f"{line_of(TEXT, '# Other channels') - 1}:13: the crm_fields channel of kind 'relationship' writes contact "
            f"fields the HubSpot mapping does not push: {missing}assessment_cycle: <the CRM field>"
        ),
    ]


def test_a_misspelt_channel_type_is_reported_once_with_the_closest(tmp_path: Path) -> None:
    """A channel type that does not exist: one message at the type (not pydantic's union-tag text)."""
    text = edited(ONBOARDING_CHANNEL, ONBOARDING_CHANNEL.replace("crm_fields", "crm_field "))
    assert problems(tmp_path, text) == [
        (
            f"{at(text, 'crm_field ')}: unknown channel type 'crm_field' in kinds.onboarding.channel; "
            "did you mean 'crm_fields'?"
        )
    ]


def test_channel_values_are_explained_in_words(tmp_path: Path) -> None:
    """A short campaign id, a URL that is no web address, a lowercase variable: each said plainly, once."""
    channel = "    channel: {type: webhook, url: ftp://x, secret_env: survey_secret}\n    # Other channels"
    text = edited(RELATIONSHIP_CHANNEL, channel)
    assert problems(tmp_path, text) == [
        (
            f"{at(text, 'ftp://x')}: kinds.relationship.channel.url 'ftp://x' is not a web address; "
            "write the full URL, starting with https://"
        ),
        (
            f"{at(text, 'survey_secret')}: kinds.relationship.channel.secret_env 'survey_secret' is not an environment "
            "variable name; "
            "use capitals, digits and _, e.g. SYNC_WEBHOOK_SECRET; the secret itself never goes in this file"
        ),
    ]
    campaign = edited(
        RELATIONSHIP_CHANNEL, "    channel: {type: salesforce_campaign, campaign_id: '701123'}\n    # Other"
    )
    assert problems(tmp_path, campaign, "salesforce") == [
        (
            f"{at(campaign, QUOTED_ID)}: kinds.relationship.channel.campaign_id '701123' is not a Salesforce "
            "Campaign id; "
            "a Campaign id starts with 701 and has 15 or 18 characters; copy it from the campaign's page"
        )
    ]


def test_a_channel_written_as_a_name_or_without_type_says_how_to_write_it(tmp_path: Path) -> None:
    """``channel: crm_fields`` asks for ``{type: crm_fields}``; a channel without type lists the types."""
    text = edited(RELATIONSHIP_CHANNEL, "    channel: crm_fields\n    # Other channels")
    assert problems(tmp_path, text) == [
        (
            f"{at(text, 'crm_fields', 'channel: crm_fields')}: the channel of kind 'relationship' is a mapping "
            "with a type, not a name; "
            "write channel: {type: crm_fields}"
        )
    ]
    untyped = edited(RELATIONSHIP_CHANNEL, "    channel: {status: Sent}\n    # Other channels")
    assert problems(tmp_path, untyped) == [
        (
            f"{at(untyped, '{status')}: the channel of kind 'relationship' needs a type; "
            "type: crm_fields, salesforce_campaign, hubspot_list, webhook"
        )
    ]


# --- kinds, questions, window, keys ------------------------------------------------------------------------------


def test_only_one_kind_may_fall_due_at_the_handoff(tmp_path: Path) -> None:
    """A second kind at the handoff is reported at its ``at``, pointing at the first."""
    text = edited("      every_months: 6 ", "      at: handoff  # again")
    first = at(text, "handoff                       # due on the day").replace(":", ", column ")
    assert problems(tmp_path, text) == [
        (
            f"{at(text, 'handoff  # again')}: kind 'relationship' is a second kind due at the handoff; at most "
            f"one may be; kind 'onboarding' is due at the handoff already (line {first}); "
            "use every_months: N here"
        )
    ]


def test_question_ids_are_unique_within_a_kind_only(tmp_path: Path) -> None:
    """A repeated question id in one kind is reported at the second; the same id in two kinds is fine."""
    text = edited("      - id: recommend   ", "      - id: recommend_change  # again")
    first = at(text, "recommend_change            #").replace(":", ", column ")
    assert problems(tmp_path, text) == [
        (
            f"{at(text, 'recommend_change  # again')}: duplicate question id 'recommend_change'; "
            f"first defined at line {first}"
        )
    ]
    assert problems(tmp_path, edited("      - id: prepared", "      - id: recommend")) == []


def test_a_question_with_both_scale_and_choices_is_one_problem(tmp_path: Path) -> None:
    """Both answer forms on one question: one message at choices, not pydantic's unknown-key guess."""
    text = edited("        scale: [0, 10]                  #", "        choices: [yes, no]\n        scale: [0, 10]  #")
    assert problems(tmp_path, text) == [
        (
            f"{at(text, 'choices: [yes, no]')}: a question takes scale or choices, not both; "
            "keep scale for a number answer (0 to 10) or choices for a pick from a list"
        )
    ]


def test_a_bad_time_zone_and_hours_are_reported_at_their_values(tmp_path: Path) -> None:
    """An IANA zone in the wrong case gets its spelling; an unknown one the form; an unquoted 9:00 the fix."""
    window = "  window: {start: 9:00, end: '17:00', timezone: europe/berlin}\n"
    text = edited(PER_DAY, PER_DAY + window)
    assert problems(tmp_path, text) == [
        (
            f"{at(text, '9:00, end')}: throttle.window.start '9:00' is not a time of day; "
            "write the hour as HH:MM in quotes, e.g. '09:00'"
        ),
        (
            f"{at(text, 'europe/berlin')}: throttle.window.timezone 'europe/berlin' is not a time zone; "
            "did you mean 'Europe/Berlin'?"
        ),
    ]
    nowhere = edited(PER_DAY, PER_DAY + "  window: {start: '09:00', end: '17:00', timezone: Mars/Olympus}\n")
    assert problems(tmp_path, nowhere) == [
        (
            f"{at(nowhere, 'Mars/Olympus')}: throttle.window.timezone 'Mars/Olympus' is not a time zone; "
            "use an IANA time zone name, e.g. Europe/Berlin or America/New_York"
        )
    ]


def test_unknown_keys_anywhere_get_the_nearest_key(tmp_path: Path) -> None:
    """Misspelt keys at the top, in a question, in a channel and in the optional window: one message each, a fix."""
    text = edited("unknown_persona:", "unknown_persone:")
    text = edited("        choices: [better, same, worse]", "        choice: [better, same, worse]", text)
    text = edited(RELATIONSHIP_CHANNEL, "    channel: {type: salesforce_campaign, campaign_id: 701000000000001AAA, "
                  "statu: Sent}\n    # Other channels", text)  # fmt: skip
    text = edited(PER_DAY, PER_DAY + "  window: {start: '09:00', end: '17:00', timezon: UTC}\n", text)
    assert problems(tmp_path, text, "salesforce") == [
        f"{at(text, 'version: 1')}: missing key 'unknown_persona' at the top level",
        f"{at(text, 'choice: [')}: unknown key 'choice' in kinds.relationship.questions[0]; did you mean 'choices'?",
        f"{at(text, 'statu: Sent')}: unknown key 'statu' in kinds.relationship.channel; did you mean 'status'?",
        (
            f"{at(text, 'unknown_persone')}: unknown key 'unknown_persone' at the top level; "
            "did you mean 'unknown_persona'?"
        ),
        f"{at(text, 'timezon: UTC')}: unknown key 'timezon' in throttle.window; did you mean 'timezone'?",
    ]


# --- syntax, types, several at once ----------------------------------------------------------------------------


def test_a_yaml_syntax_error_is_reported_at_its_line(tmp_path: Path) -> None:
    """A colon too many stops reading, with the place of the mistake."""
    text = edited(PER_DAY, "  per_day: 500: 1\n")
    assert problems(tmp_path, text) == [(f"{at(text, ': 1', 'per_day: 500: 1')}: YAML syntax error: mapping values "
                                        "are not allowed here")]  # fmt: skip


def test_a_wrong_type_is_reported_at_its_value(tmp_path: Path) -> None:
    """Words where a number belongs: said in words, at the value."""
    text = edited("  min_gap_days: 30 ", "  min_gap_days: thirty ")
    assert problems(tmp_path, text) == [f"{at(text, 'thirty')}: min_gap_days must be a whole number; found 'thirty'"]


def test_every_problem_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    """A revision of 0, a reversed scale, a bad persona, a second handoff kind and a bad zone: one report."""
    text = edited("revision: 1 ", "revision: 0 ")
    text = edited("        scale: [0, 10]                  #", "        scale: [10, 0]                  #", text)
    text = edited(ONBOARDING_PERSONAS, "    personas: [decision_maker, champion, end_users]", text)
    text = edited("      every_months: 6 ", "      at: handoff  # again", text)
    text = edited(PER_DAY, PER_DAY + "  window: {start: '09:00', end: '17:00', timezone: Europe/Berln}\n", text)
    path = tmp_path / ASSESSMENTS_FILE
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_assessments(path, mapping("hubspot"))
    found = [f"{p.line}: {p.message}" for p in caught.value.problems]
    assert [int(p.split(":")[0]) for p in found] == [
        line_of(text, "revision: 0"),
        line_of(text, "- id: prepared"),
        line_of(text, "end_users"),
        line_of(text, "at: handoff  # again"),
        line_of(text, "Europe/Berln"),
    ]
    assert "scale [10, 0] must go from low to high" in found[1]
    assert "Value error" not in found[1]
    assert "unknown persona 'end_users'" in found[2]
    assert caught.value.problems[4].hint == "did you mean 'Europe/Berlin'?"


def test_values_of_the_wrong_shape_are_reported_not_crashed_on(tmp_path: Path) -> None:
    """A list as channel type, a text as question, a number as persona: each reported once, no exception."""
    text = edited(ONBOARDING_CHANNEL, "      type: [crm_fields]")
    text = edited("      - id: prepared\n", "      - prepared\n      - id: prepared\n", text)
    text = edited(COVERAGE, "  expected: [decision_maker, 7]", text)
    found = problems(tmp_path, text)
    assert [p.split(": ")[0] for p in found] == [
        at(text, "prepared", "- prepared"),
        at(text, "[crm_fields]"),
        at(text, "7]"),
    ]
    assert "unknown channel type" in found[1]


def test_an_empty_file_is_reported_with_a_pointer_to_the_shipped_one(tmp_path: Path) -> None:
    """An empty policy is one problem that names the shipped example."""
    assert problems(tmp_path, "# nothing yet\n") == [" the file is empty; see the shipped config/assessments.yaml"]


# --- sync-daemon validate --------------------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A copy of the shipped config folder."""
    folder = tmp_path / "config"
    shutil.copytree(CONFIG, folder)
    return folder


def validate(folder: Path) -> tuple[int, str]:
    """``sync-daemon validate`` with ``folder`` as SYNC_CONFIG_DIR; no CRM set, so against both shipped mappings."""
    env = {"SYNC_LOG_FORMAT": "json", "SYNC_SECRETS_DIR": "/nonexistent-secrets-dir", "SYNC_CONFIG_DIR": str(folder)}
    result = CliRunner().invoke(main, ["validate"], env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_validate_accepts_the_shipped_assessment_policy(config: Path) -> None:
    """`sync-daemon validate` on the shipped config folder exits 0 and lists the assessment policy as ok."""
    code, output = validate(config)
    assert code == 0, output
    assert f"ok  {config / ASSESSMENTS_FILE}" in output


def test_validate_exits_2_naming_the_assessment_file_and_line(config: Path) -> None:
    """A misspelt persona in the copied policy: exit 2, the problem at assessments.yaml:line:column with its fix."""
    policy = config / ASSESSMENTS_FILE
    text = edited(COVERAGE, "  expected: [decision_maker, champion, end_usr]")
    policy.write_text(text, encoding="utf-8")
    code, output = validate(config)
    assert code == 2, output
    assert f"{policy}:{at(text, 'end_usr')}: unknown persona 'end_usr' in coverage.expected" in output
    assert "did you mean 'end_user'?" in output
