"""Subject transforms on both servers: which destinations nats-server refuses (word for word, in
its order of checks) and what each mapping function stores; then `compile_transform` and
`validate_mapping` on their own."""

from __future__ import annotations

import pytest

from devserver.jetstream.transform import MappingError, compile_transform, validate_mapping
from schemas import subjects as S

pytestmark = pytest.mark.timeout(60)

BAD = "invalid mapping destination"


def _stream(src: str, dest: str) -> dict:
    return {"subjects": ["x.>"], "subject_transform": {"src": src, "dest": dest}}


def _republish(src: str, dest: str) -> dict:
    return {"subjects": ["x.>"], "republish": {"src": src, "dest": dest}}


def _mirror(src: str, dest: str) -> dict:
    return {"mirror": {"name": "O", "subject_transforms": [{"src": src, "dest": dest}]}}


def _source(src: str, dest: str) -> dict:
    return {"sources": [{"name": "O", "subject_transforms": [{"src": src, "dest": dest}]}]}


def _republish_invalid(src: str, dest: str) -> tuple[dict, str, str]:
    err = f"stream configuration for republish with transform from '{src}' to '{dest}' not valid"
    return _republish(src, dest), "JSStreamInvalidConfigF", err


OUT_OF_RANGE = f"{BAD}: wildcard index out of range in "
UNKNOWN = f"{BAD}: unknown function in "
NOT_ENOUGH = f"{BAD}: not enough arguments passed to the function in "
TOO_MANY = f"{BAD}: too many arguments passed to the function in "
INVALID_ARG = f"{BAD}: function argument is invalid or in the wrong format in "
INVALID = f"{BAD}: invalid transform"


def _dest(src: str, dest: str, err: str) -> tuple[dict, str, str]:
    return _stream(src, dest), "JSStreamTransformInvalidDestination", err


REFUSED = [
    _dest("x.*", "y.>", "invalid subject"),
    _dest("x.*", "y.*", "invalid subject"),
    _dest("", "t.$1", "invalid subject"),  # the source is `>`
    _dest("x.*", ">", "invalid subject"),
    _dest("x.*", "y.$2", OUT_OF_RANGE + "$2: [2]"),
    _dest("x.*.*", "y.{{partition(3,1,3)}}", OUT_OF_RANGE + "{{partition(3,1,3)}}: [3]"),
    _dest("x.>", "y.$1.>", OUT_OF_RANGE + "$1: [1]"),  # wildcards are `*` only
    _dest("x.a", "y.$1", OUT_OF_RANGE + "$1"),  # no wildcard at all: no index given
    _dest("x.a", "y.{{left(1,2)}}", OUT_OF_RANGE + "{{left(1,2)}}"),
    _dest("x.*", "y.{{foo(1)}}", UNKNOWN + "{{foo(1)}}"),
    _dest("x.*", "y.{{WILDCARD(1)}}", UNKNOWN + "{{WILDCARD(1)}}"),
    _dest("x.*", "y.{{}}x}}", UNKNOWN + "{{}}x}}"),
    _dest("x.*", "y.{{wildcard()}}", NOT_ENOUGH + "{{wildcard()}}"),
    _dest("x.*", "y.{{wildcard(1,2)}}", TOO_MANY + "{{wildcard(1,2)}}"),
    _dest("x.*", "y.{{wildcard(a)}}", INVALID_ARG + "{{wildcard(a)}}"),
    _dest("x.*", "y.{{wildcard(\t1)}}", INVALID_ARG + "{{wildcard(\t1)}}"),  # only spaces are trimmed
    # the argument pattern is greedy: `1)}}{{wildcard(1` is no number
    _dest("x.*", "y.{{wildcard(1)}}{{wildcard(1)}}", INVALID_ARG + "{{wildcard(1)}}{{wildcard(1)}}"),
    _dest("x.*", "y.{{wildcard(99999999999999999999)}}", INVALID_ARG + "{{wildcard(99999999999999999999)}}"),
    _dest("x.*", "y.{{split(1)}}", NOT_ENOUGH + "{{split(1)}}"),
    _dest("x.*", "y.{{split(1,a b)}}", INVALID_ARG + "{{split(1,a b)}}"),
    _dest("x.*", "y.{{SplitFromLeft(1)}}", NOT_ENOUGH + "{{SplitFromLeft(1)}}"),
    _dest("x.*", "y.{{SplitFromLeft(1,2,3)}}", TOO_MANY + "{{SplitFromLeft(1,2,3)}}"),
    _dest(
        "x.*", "y.{{splitfromleft(1,99999999999)}}", INVALID_ARG + "{{splitfromleft(1,99999999999)}}"
    ),  # int32
    _dest("x.*", "y.{{left(1)}}", NOT_ENOUGH + "{{left(1)}}"),
    _dest("x.*", "y.{{random(1,2)}}", NOT_ENOUGH + "{{random(1,2)}}"),  # too many, says nats-server
    _dest("x.*", "y.{{partition()}}", INVALID_ARG + "{{partition()}}"),
    _dest("x.*", "y.{{partition(3,1,)}}", INVALID_ARG + "{{partition(3,1,)}}"),
    _dest("x.*", "y.{{partition(99999999999,1)}}", INVALID_ARG + "{{partition(99999999999,1)}}"),
    _dest("x.*", "y..z", INVALID),
    _dest("x.*", "y.a b", INVALID),
    _dest("x.*", "y.$1 ", INVALID),
    _dest("x.>", "y.>.z", INVALID + " in z"),
    (_stream("x..a", "y"), "JSStreamTransformInvalidSource", "invalid subject x..a"),
    _republish_invalid("x.*", "y.>"),
    _republish_invalid("x.*", "y.$2"),
    _republish_invalid("x.*", "y.{{foo(1)}}"),
    _republish_invalid("x.*", "y..a"),
    _republish_invalid("x..", "y.a"),
    (  # the cycle is checked first
        _republish(">", ">"),
        "JSStreamInvalidConfigF",
        "stream configuration for republish destination forms a cycle",
    ),
    (_mirror("EVENTS.*", "ALL.>"), "JSMirrorInvalidTransformDestination", "invalid subject"),
    (_mirror("EVENTS.*", "ALL.*"), "JSMirrorInvalidTransformDestination", "invalid subject"),
    (_mirror("EVENTS..", "ALL.>"), "JSMirrorInvalidSubjectFilter", "invalid subject EVENTS.."),
    (_source("EVENTS.*", "ALL.>"), "JSSourceInvalidTransformDestination", "invalid subject"),
    (_source("EVENTS.*", "ALL.*"), "JSSourceInvalidTransformDestination", "invalid subject"),
    (_source("EVENTS.*", "ALL.$2"), "JSSourceInvalidTransformDestination", OUT_OF_RANGE + "$2: [2]"),
    (_source("EVENTS..", "ALL.>"), "JSSourceInvalidSubjectFilter", "invalid subject EVENTS.."),
]


@pytest.mark.parametrize(("config", "error", "err"), REFUSED)
async def test_refused_transforms_word_for_word(jsapi, config, error, err):
    await jsapi.fails(S.stream_create("S1"), {"name": "S1", **config}, error, err=err)


ACCEPTED = [
    _stream("x.*", "y.$0"),  # wildcard 0 (and below) is the subject's first token
    _stream("x.*", "y.$-1"),
    _stream("x.*", "y.$x"),  # `$` and no number: a literal
    _stream("x.*", "y.{{ Left(1,2) }}.{{right(1,2)}}"),
    _stream("x.*", "y.{{ wildcard ( 1 ) }}.{{wildcard(+1)}}"),
    _stream("x.*", "y.a{{wildcard(1)}}}}"),  # not `{{...}}` from end to end: a literal
    _stream("x.*", "y.{{random(-1)}}.{{random(0)}}.{{partition(-3,1)}}"),
    _stream("x.*", "y.{{split(1,)}}"),
    _stream("x.a", "y.{{partition(3,1)}}.{{random(3)}}"),
    _stream("x.*", ""),
    _republish("x.*", "y a.$1"),  # republish destinations skip ValidateMapping
    _republish("x a", "y"),
    _republish("x.*", ""),
    _mirror("EVENTS.*", "ALL.{{splitfromright(1,2)}}"),
    _mirror("EVENTS.*", "ALL.{{split(1,.)}}"),  # tokens `{{split(1,` and `)}}`: literals
    _source("EVENTS.*", "ALL.{{slicefromleft(1,2)}}"),
]


@pytest.mark.parametrize("config", ACCEPTED)
async def test_accepted_transforms(jsapi, config):
    await jsapi.ok(S.stream_create("S1"), {"name": "S1", **config})


async def test_republish_everything_follows_the_subject_transform(jsapi, nc):
    """`>` to `>` would be a cycle, unless the stream's only subject is its transform's source."""
    config = {"subjects": ["x.>"], "subject_transform": {"src": "x.>", "dest": "z.>"}}
    republish = {"src": ">", "dest": ">"}
    doc = await jsapi.ok(S.stream_create("S1"), {"name": "S1", **config, "republish": republish})
    assert doc["config"]["republish"] == {"src": "z.>", "dest": "z.>"}
    sub = await nc.subscribe("z.>")
    await jsapi.stored("x.a")
    assert (await sub.next_msg(timeout=2)).subject == "z.a"
    body = {"name": "S2", **config, "republish": republish, "pedantic": True}
    err = "implicit republish based on subject transform"
    await jsapi.fails(S.stream_create("S2"), body, "JSPedanticErrF", err=err)


MAPPED = [
    ("x.*.*", "y.$2.$1", [("x.a.b", "y.b.a")]),
    ("x.*.*", "y.$0.{{wildcard(-1)}}.$+1", [("x.a.b", "y.x.x.a")]),
    ("x.*.>", "y.$1.>", [("x.a.b", "y.a.b"), ("x.a.b.c.d", "y.a.b.c.d")]),
    ("x.*.>", "y.>", [("x.a.b", "y.b"), ("x.a.b.c.d", "y.b.c.d")]),
    ("x.>", "y.z.>", [("x.a.b", "y.z.a.b")]),
    ("x.b", "y", [("x.a", "x.a"), ("x.b", "y")]),  # no match: stored as published
    (
        "x.*",
        "y.{{partition(10,1)}}.{{partition(10)}}.{{partition(0,1)}}.{{partition(-7,1)}}",
        [("x.abc", "y.1.3.0.440920331"), ("x.hello", "y.3.9.0.1335831723"), ("x.1", "y.4.0.0.873244444")],
    ),
    ("x.*.*", "y.{{partition(5,1,2)}}.{{partition(5,2,1)}}", [("x.ab.cd", "y.3.0"), ("x.a.bcd", "y.3.4")]),
    ("x.a", "y.{{partition(4,1)}}.{{random(1)}}", [("x.a", "y.2.0")]),  # no wildcard: the whole subject
    ("x.>", "y.{{partition(6)}}.>", [("x.a.b", "y.0.a.b")]),
    (
        "x.*",
        "y.{{splitfromleft(1,2)}}.{{splitfromright(1,2)}}",
        [("x.abcde", "y.ab.cde.abc.de"), ("x.ab", "y.ab.ab"), ("x.a", "y.a.a")],
    ),
    ("x.*", "y.{{splitfromleft(1,0)}}.{{splitfromright(1,-1)}}", [("x.abcde", "y.abcde.abcde")]),
    (
        "x.*",
        "y.{{slicefromleft(1,2)}}",
        [
            ("x.abcde", "y.ab.cd.e"),
            ("x.abcd", "y.ab.cd"),
            ("x.ab", "y.ab"),
            ("x.a", "y.a"),
            ("x.abc", "y.ab.c"),
        ],
    ),
    (
        "x.*",
        "y.{{slicefromright(1,2)}}",
        [
            ("x.abcde", "y.a.bc.de"),
            ("x.abcd", "y.ab.cd"),
            ("x.ab", "y.ab"),
            ("x.a", "y.a"),
            ("x.abc", "y.a.bc"),
        ],
    ),
    (
        "x.*",
        "y.{{slicefromleft(1,3)}}.{{slicefromright(1,3)}}",
        [("x.abcdefgh", "y.abc.def.gh.ab.cde.fgh"), ("x.abcdef", "y.abc.def.abc.def")],
    ),
    (
        "x.*",
        "y.{{split(1,-)}}",
        [
            ("x.a-b-c", "y.a.b.c"),
            ("x.-a--b-", "y.a.b"),
            ("x.--a", "y..a"),
            ("x.---a-", "y..a"),
            ("x.a--", "y.a"),
            ("x.--", "y."),
            ("x.abc", "y.abc"),
        ],
    ),
    ("x.*", "z.{{split(1,-)}}.q", [("x.--", "z..q")]),
    ("x.*", "y.{{split(1,)}}", [("x.abc", "y.a.b.c"), ("x.a", "y.a")]),
    ("x.*", "y.{{split(1,ab)}}", [("x.xabyabz", "y.x.y.z"), ("x.ababab", "y.")]),
    (
        "x.*",
        "y.{{left(1,2)}}.{{right(1,2)}}",
        [("x.abcde", "y.ab.de"), ("x.ab", "y.ab.ab"), ("x.a", "y.a.a")],
    ),
    ("x.*", "y.{{left(1,0)}}.{{right(1,-2)}}", [("x.abcde", "y.abcde.abcde")]),
    (  # sizes count UTF-8 bytes; split(1,) cuts between characters
        "x.*",
        "y.{{left(1,2)}}.{{split(1,)}}",
        [("x.\u00e9\u00e9x", "y.\u00e9.\u00e9.\u00e9.x")],
    ),
    ("x.*", "y.{{random(1)}}.{{random(0)}}", [("x.a", "y.0.0")]),
]


@pytest.mark.parametrize(("src", "dest", "cases"), MAPPED)
async def test_stream_transform_stores_the_mapped_subject(jsapi, src, dest, cases):
    await jsapi.create("S1", subjects=["x.>"], subject_transform={"src": src, "dest": dest})
    for published, stored in cases:
        seq = await jsapi.stored(published)
        msg = (await jsapi.ok(S.stream_msg_get("S1"), {"seq": seq}))["message"]
        assert (published, msg["subject"]) == (published, stored)


# -- compile_transform and validate_mapping on their own


@pytest.mark.parametrize(("src", "dest", "cases"), MAPPED)
def test_compile_transform_maps_as_nats_server(src, dest, cases):
    transform = compile_transform(src, dest)
    assert [(p, transform(p) or p) for p, _ in cases] == cases


def test_a_subject_outside_the_source_maps_to_none():
    assert compile_transform("x.*", "y.$1")("z.a") is None
    assert compile_transform("x.*", "y.$1")("x.a.b") is None


def test_an_empty_destination_is_no_transform():
    assert compile_transform("x.*", "")("x.a") is None
    assert compile_transform("", "")("x.a") is None


def test_an_empty_source_is_everything():
    assert compile_transform("", ">")("a.b.c") == "a.b.c"
    assert compile_transform("", "p.>")("a.b") == "p.a.b"
    assert compile_transform("", "p.{{partition(4)}}.>")("a.b") == compile_transform(
        ">", "p.{{partition(4)}}.>"
    )("a.b")


def test_cutting_a_character_in_two_gives_replacement_characters():
    transform = compile_transform("x.*", "{{right(1,2)}}.{{splitfromleft(1,1)}}")
    assert transform("x.\u00e9\u00e9x") == "\ufffdx.\ufffd.\ufffd\u00e9x"


def test_random_stays_below_its_ceiling():
    transform = compile_transform("x.*", "{{random(3)}}.{{random(-3)}}")
    seen = {transform("x.a") for _ in range(200)}
    assert seen <= {f"{a}.{b}" for a in range(3) for b in range(3)}
    assert len(seen) > 1


@pytest.mark.parametrize(
    ("config", "err"),
    [(config, err) for config, error, err in REFUSED if error == "JSStreamTransformInvalidDestination"],
)
def test_validate_mapping_words(config, err):
    assert validate_mapping(config["subject_transform"]["src"], config["subject_transform"]["dest"]) == err


def test_compile_transform_refuses_what_nats_server_cannot_build():
    with pytest.raises(MappingError, match=r"^invalid subject$"):
        compile_transform("x.*", "y.>")
    with pytest.raises(MappingError, match=r"wildcard index out of range in \$2: \[2\]"):
        compile_transform("x.*", "y.$2")
    # what only ValidateMapping refuses still builds
    assert compile_transform("x.*", "y.a b.$1")("x.c") == "y.a b.c"


def test_validate_mapping_passes_empty_destinations():
    assert validate_mapping("x.*", "") is None
    assert validate_mapping("", "a.>") is None


async def test_source_transforms_map_with_functions_and_skip_an_empty_destination(jsapi, eventually):
    """A transform without a destination maps nothing, so a later one that also matches does."""
    await jsapi.create("O", subjects=["o.>"])
    for subject in ("o.a.b", "o.a.cd", "o.ab.cd"):
        await jsapi.stored(subject)
    transforms = [
        {"src": "o.*.b"},
        {"src": "o.a.*", "dest": "z.{{splitfromleft(1,1)}}"},
        {"src": "o.ab.*", "dest": "y.{{left(1,1)}}"},
    ]
    await jsapi.ok(
        S.stream_create("S1"), {"name": "S1", "sources": [{"name": "O", "subject_transforms": transforms}]}
    )

    async def copied():
        return (await jsapi.state("S1"))["messages"] == 3

    assert await eventually(copied)
    stored = [
        (await jsapi.ok(S.stream_msg_get("S1"), {"seq": seq}))["message"]["subject"] for seq in (1, 2, 3)
    ]
    assert stored == ["z.b", "z.c.d", "y.c"]


async def test_an_update_reads_an_empty_republish_destination_as_everything(jsapi):
    """A create leaves it empty (no republish); an update builds `>` from the source."""
    await jsapi.create("S1", subjects=["x.>"], republish={"src": "x.*", "dest": ""})
    body = {"name": "S1", "subjects": ["x.>"], "republish": {"src": "x.*", "dest": ""}}
    err = "stream configuration for republish from 'x.*' to '>': invalid subject"
    await jsapi.fails(S.stream_update("S1"), body, "JSStreamUpdateErrF", err=err)
    doc = await jsapi.ok(S.stream_update("S1"), {**body, "republish": {"src": "x.>", "dest": ""}})
    assert doc["config"]["republish"] == {"src": "x.>", "dest": ">"}
