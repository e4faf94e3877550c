"""Versions, conventional commits and codenames: pure functions, no database."""

from itertools import pairwise

import pytest

from liftoff.errors import ValidationFailed
from releases.versioning import (
    ConventionalCommit,
    Version,
    bump,
    codename_slug,
    next_codename,
    parse_commit,
    propose_version,
    suggest_release_type,
    version_problem,
)

V = Version.parse

# From the test list published with the regular expression at semver.org.
VALID = [
    "0.0.4",
    "1.2.3",
    "10.20.30",
    "1.1.2-prerelease+meta",
    "1.1.2+meta",
    "1.1.2+meta-valid",
    "1.0.0-alpha",
    "1.0.0-beta",
    "1.0.0-alpha.beta",
    "1.0.0-alpha.beta.1",
    "1.0.0-alpha.1",
    "1.0.0-alpha0.valid",
    "1.0.0-alpha.0valid",
    "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay",
    "1.0.0-rc.1+build.1",
    "2.0.0-rc.1+build.123",
    "1.2.3-beta",
    "10.2.3-DEV-SNAPSHOT",
    "1.2.3-SNAPSHOT-123",
    "1.0.0",
    "2.0.0",
    "1.1.7",
    "2.0.0+build.1848",
    "2.0.1-alpha.1227",
    "1.0.0-alpha+beta",
    "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
    "1.2.3----R-S.12.9.1--.12+meta",
    "1.2.3----RC-SNAPSHOT.12.9.1--.12",
    "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
    "99999999999999999999999.999999999999999999.99999999999999999",
    "1.0.0-0A.is.legal",
    # The build metadata examples of §10.
    "1.0.0-alpha+001",
    "1.0.0+20130313144700",
    "1.0.0-beta+exp.sha.5114f85",
    "1.0.0+21AF26D3----117B344092BD",
]

INVALID = [
    "1.2",
    "01.2.3",
    "1.2.3-01",
    "1.2.3-",
    "1.2.3+",
    "v1.2.3",
    "1.2.3-alpha..1",
    "1",
    "1.2.3-0123",
    "1.2.3-0123.0123",
    "1.1.2+.123",
    "+invalid",
    "-invalid",
    "-invalid+invalid",
    "alpha",
    "alpha.beta.1",
    "1.0.0-alpha_beta",
    "-alpha.",
    "1.0.0-alpha..",
    "01.1.1",
    "1.01.1",
    "1.1.01",
    "1.2.3.DEV",
    "1.2-SNAPSHOT",
    "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788",
    "+justmeta",
    "9.8.7+meta+meta",
    "9.8.7-whatever+meta+meta",
    "",
    " 1.2.3",
    "1.2.3\n",
    "1.2.٣",
]


@pytest.mark.parametrize("text", VALID)
def test_valid_versions_parse_and_print_back_unchanged(text):
    assert str(Version.parse(text)) == text


@pytest.mark.parametrize("text", INVALID)
def test_invalid_versions_are_refused_with_a_readable_message(text):
    with pytest.raises(ValidationFailed) as caught:
        Version.parse(text)
    assert "is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.4.0)" in caught.value.message
    assert caught.value.errors == {"version": [caught.value.message]}


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("1.2", "it needs exactly three numbers"),
        ("01.2.3", "numbers must not have leading zeros"),
        ("1.2.3-01", "numbers must not have leading zeros"),
        ("1.2.3-", "a pre-release or build part is empty"),
        ("1.2.3+", "a pre-release or build part is empty"),
        ("1.2.3-alpha..1", "a pre-release or build part is empty"),
        ("v1.2.3", "leave out the leading “v”"),
        ("1.0.0-alpha_beta", "use only letters, digits and hyphens after “-” and “+”"),
    ],
)
def test_the_message_names_the_mistake(text, hint):
    with pytest.raises(ValidationFailed) as caught:
        Version.parse(text)
    assert caught.value.message == (
        f"“{text}” is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.4.0): {hint}"
    )


def test_parts_are_split_into_numbers_and_identifiers():
    version = V("1.0.0-beta.11+exp.sha.5114f85")
    assert version == Version(1, 0, 0, ("beta", "11"), ("exp", "sha", "5114f85"))
    assert version.is_prerelease
    assert not V("1.0.0+build").is_prerelease


def test_constructing_a_bad_version_in_code_is_a_bug():
    with pytest.raises(ValueError):
        Version(1, -1, 0)
    with pytest.raises(ValueError):
        Version(1, 0, 0, ("01",))
    with pytest.raises(ValueError):
        Version(1, 0, 0, build=("",))


def test_precedence_follows_the_spec_example_chain():
    chain = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "2.0.0",
        "2.1.0",
        "2.1.1",
    ]
    versions = [V(text) for text in chain]
    for lower, higher in pairwise(versions):
        assert lower < higher
        assert lower <= higher
        assert higher > lower
        assert higher >= lower
        assert not higher < lower
    assert sorted(reversed(versions)) == versions
    assert sorted(reversed(versions), key=Version.precedence_key) == versions


def test_numeric_identifiers_rank_below_alphanumeric_ones():
    assert V("1.0.0-1") < V("1.0.0-a")
    assert V("1.0.0-alpha.9") < V("1.0.0-alpha.10")
    assert V("1.0.0-Z") < V("1.0.0-a")  # ASCII order


def test_build_metadata_is_ignored_for_precedence_but_not_for_equality():
    plain, build = V("1.0.0"), V("1.0.0+20130313144700")
    assert plain.same_precedence(build)
    assert plain.precedence_key() == build.precedence_key()
    assert not plain < build and not build < plain
    assert plain <= build and build <= plain
    assert plain != build
    assert V("1.0.0-alpha+001").same_precedence(V("1.0.0-alpha"))
    assert V("1.0.0-beta+exp.sha.5114f85") > V("1.0.0-alpha+001")
    assert V("1.0.0-beta+exp.sha.5114f85") == V("1.0.0-beta+exp.sha.5114f85")
    assert len({plain, build, V("1.0.0")}) == 2


def test_comparing_with_something_else_is_a_type_error():
    with pytest.raises(TypeError):
        assert V("1.0.0") < "1.0.1"


@pytest.mark.parametrize(
    ("tag", "pattern", "expected"),
    [
        ("v1.2.3", "v{version}", "1.2.3"),
        ("v1.2.3-rc.1+build.5", "v{version}", "1.2.3-rc.1+build.5"),
        ("release-2.0.0", "release-{version}", "2.0.0"),
        ("1.0.0", "{version}", "1.0.0"),
        ("v1.0.0-rc.1-digital-oracle", "v{version}-{codename-slug}", "1.0.0-rc.1"),
        ("v1.2.3 (Digital Oracle)", "v{version} ({codename})", "1.2.3"),
    ],
)
def test_a_version_is_read_from_a_tag(tag, pattern, expected):
    assert Version.parse_tag(tag, pattern) == V(expected)


@pytest.mark.parametrize(
    ("tag", "pattern"),
    [
        ("1.2.3", "v{version}"),
        ("v1.2", "v{version}"),
        ("v01.2.3", "v{version}"),
        ("latest", "v{version}"),
        ("v1.2.3-", "v{version}"),
        ("xv1.2.3", "v{version}"),
        ("v1.2.3", "release-{version}"),
    ],
)
def test_tags_that_do_not_fit_the_pattern_give_none(tag, pattern):
    assert Version.parse_tag(tag, pattern) is None


def test_a_tag_pattern_without_version_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        Version.parse_tag("v1.2.3", "v{codename}")
    assert "tag_pattern" in caught.value.errors


@pytest.mark.parametrize(
    ("version", "release_type", "expected"),
    [
        ("1.2.3", "major", "2.0.0"),
        ("1.2.3", "minor", "1.3.0"),
        ("1.2.3", "patch", "1.2.4"),
        ("1.2.3", "hotfix", "1.2.4"),
        ("0.9.9", "major", "1.0.0"),
        ("1.0.0-rc.1+build.7", "patch", "1.0.1"),
        ("1.0.0-rc.1", "minor", "1.1.0"),
        ("1.2.3+build", "major", "2.0.0"),
    ],
)
def test_bump_counts_from_the_release_part(version, release_type, expected):
    assert bump(V(version), release_type) == V(expected)


def test_an_unknown_release_type_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        bump(V("1.0.0"), "mega")
    assert caught.value.errors["release_type"]
    with pytest.raises(ValidationFailed):
        propose_version(release_type="Major", released=[])


def test_propose_bumps_the_highest_release_and_skips_prereleases():
    released = [V("1.2.0"), V("1.10.0"), V("1.9.5"), V("2.0.0-rc.1")]
    assert propose_version(release_type="major", released=released) == V("2.0.0")
    assert propose_version(release_type="minor", released=released) == V("1.11.0")
    assert propose_version(release_type="patch", released=iter(released)) == V("1.10.1")


def test_propose_starts_at_0_1_0_when_nothing_is_released():
    for release_type in ("major", "minor", "patch"):
        assert propose_version(release_type=release_type, released=[]) == V("0.1.0")
    only_prereleases = [V("0.1.0-rc.1")]
    assert propose_version(release_type="minor", released=only_prereleases) == V("0.1.0")


def test_a_hotfix_patches_the_version_in_production():
    released = [V("1.0.0"), V("1.1.0")]
    proposed = propose_version(release_type="hotfix", released=released, in_production=V("1.0.0"))
    assert proposed == V("1.0.1")


def test_a_hotfix_without_production_patches_the_highest_release():
    released = [V("1.0.0"), V("1.1.0")]
    assert propose_version(release_type="hotfix", released=released) == V("1.1.1")


def test_a_hotfix_with_nothing_released_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        propose_version(release_type="hotfix", released=[])
    assert caught.value.message == "Nothing has been released yet, so there is nothing to hotfix."


def test_parse_commit_reads_type_scope_and_bang():
    assert parse_commit("feat(api)!: x") == ConventionalCommit(
        type="feat", scope="api", breaking=True, description="x", breaking_note=""
    )


def test_parse_commit_reads_a_plain_fix():
    assert parse_commit("fix: y") == ConventionalCommit(
        type="fix", scope="", breaking=False, description="y", breaking_note=""
    )


def test_parse_commit_lowercases_the_type():
    commit = parse_commit("Feat(UI): Dark mode")
    assert (commit.type, commit.scope, commit.description) == ("feat", "UI", "Dark mode")


@pytest.mark.parametrize("token", ["BREAKING CHANGE", "BREAKING-CHANGE"])
def test_a_breaking_change_footer_makes_the_commit_breaking(token):
    body = (
        "Settings are read once at start.\n\n"
        f"{token}: the config file moved to /etc/liftoff\n"
        "and is now TOML.\n"
        "Refs: #123\n"
    )
    commit = parse_commit("refactor(config): load settings once", body)
    assert commit.breaking
    assert commit.breaking_note == "the config file moved to /etc/liftoff\nand is now TOML."
    assert str(commit) == "refactor(config)!: load settings once"


def test_a_lower_case_breaking_change_footer_does_not_count():
    assert not parse_commit("fix: y", "breaking change: not really").breaking


@pytest.mark.parametrize(
    "subject",
    [
        "Merge branch 'x'",
        'Revert "feat: x"',
        "feat:no space",
        "feat: ",
        "feat(): empty scope",
        "feat2: digits",
        "WIP",
        "",
    ],
)
def test_other_subjects_are_not_conventional(subject):
    assert parse_commit(subject) is None


def test_only_the_first_line_of_the_subject_counts():
    assert parse_commit("fix: y\n\nmore text").description == "y"


def test_a_breaking_change_suggests_major_after_1_0_0():
    commits = [
        ("feat!: drop Python 3.11 support", ""),
        ("fix(api): keep the old field", "BREAKING CHANGE: the field is read-only"),
        ("feat: oracle mode", ""),
    ]
    assert suggest_release_type(commits, current=V("1.4.0")) == (
        "major",
        ["2 breaking changes: feat!: drop Python 3.11 support, fix(api)!: keep the old field"],
    )


@pytest.mark.parametrize("current", [None, V("0.9.3")])
def test_before_1_0_0_a_breaking_change_suggests_minor(current):
    commits = [("feat!: drop Python 3.11 support", "")]
    assert suggest_release_type(commits, current=current) == (
        "minor",
        [
            "1 breaking change: feat!: drop Python 3.11 support",
            "before 1.0.0 a breaking change bumps the minor version",
        ],
    )


def test_a_feature_suggests_minor_and_examples_are_capped():
    commits = [(f"feat: feature {n}", "") for n in range(5)] + [("fix: y", "")]
    release_type, reasons = suggest_release_type(commits, current=V("1.0.0"))
    assert release_type == "minor"
    assert reasons == [
        "5 features, e.g. feat: feature 0, feat: feature 1, feat: feature 2 and 2 more"
    ]


def test_fixes_and_other_commits_suggest_patch():
    commits = [
        ("fix: a", ""),
        ("fix(ui): b", ""),
        ("fix: c", ""),
        ("fix: d", ""),
        ("docs: e", ""),
        ("Merge branch 'x'", ""),
    ]
    assert suggest_release_type(commits, current=V("1.0.0")) == (
        "patch",
        ["no features or breaking changes: 4 fixes, 2 other commits"],
    )


def test_no_commits_suggests_patch():
    assert suggest_release_type([], current=None) == (
        "patch",
        ["no commits since the last release"],
    )


def test_a_new_version_above_the_releases_has_no_problem():
    released = [V("1.0.0"), V("1.1.0")]
    existing = [*released, V("1.2.0-rc.1")]
    assert version_problem(V("1.2.0"), released=released, existing=existing) is None
    assert version_problem(V("2.0.0-rc.1"), released=released, existing=existing) is None
    assert version_problem(V("0.1.0"), released=[], existing=[]) is None


def test_a_version_that_exists_is_a_problem():
    released = [V("1.0.0")]
    existing = [V("1.0.0"), V("1.1.0-rc.1")]
    assert (
        version_problem(V("1.1.0-rc.1"), released=released, existing=existing)
        == "v1.1.0-rc.1 exists already."
    )
    assert (
        version_problem(V("1.0.0+build.2"), released=released, existing=existing)
        == "v1.0.0+build.2 exists already (as 1.0.0)."
    )


def test_a_version_lower_than_the_released_one_is_a_problem():
    released = [V("1.0.0"), V("1.2.0")]
    assert (
        version_problem(V("1.1.0"), released=released, existing=released)
        == "v1.1.0 is lower than the released v1.2.0."
    )
    assert (
        version_problem(V("1.2.0-rc.1"), released=released, existing=released)
        == "v1.2.0-rc.1 is lower than the released v1.2.0."
    )


def test_a_hotfix_on_an_older_line_only_has_to_beat_the_version_it_fixes():
    released = [V("1.0.0"), V("1.1.0")]
    hotfix = V("1.0.1")
    assert version_problem(hotfix, released=released, existing=released) is not None
    assert (
        version_problem(hotfix, released=released, existing=released, hotfix_of=V("1.0.0")) is None
    )
    assert (
        version_problem(V("0.9.9"), released=released, existing=released, hotfix_of=V("1.0.0"))
        == "v0.9.9 is lower than v1.0.0, the version it should fix."
    )


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Digital Oracle", "digital-oracle"),
        ("  Café Noël  ", "cafe-noel"),
        ("Straße & Ærø", "strasse-aero"),
        ("R2--D2!!", "r2-d2"),
        ("ﬁrst", "first"),
        ("STRASSE ẞ Łódź", "strasse-ss-lodz"),
    ],
)
def test_codename_slug(name, slug):
    assert codename_slug(name) == slug


@pytest.mark.parametrize("name", ["東京", "", " -!- "])
def test_a_codename_without_latin_letters_or_digits_has_an_empty_slug(name):
    assert codename_slug(name) == ""


def test_next_codename_takes_the_first_unused_in_pool_order():
    pool = ["Apollo", "Borealis", "Cassini"]
    assert next_codename(pool, []) == "Apollo"
    assert next_codename(pool, ["apollo", "CASSINI"]) == "Borealis"
    assert next_codename(pool, iter(["Apollo", "Borealis", "Cassini"])) is None
    assert next_codename([], []) is None
