from datetime import UTC, datetime, timedelta

import git
import pytest

from liftoff.errors import ValidationFailed
from liftoff.git import LIFTOFF_IDENTITY, is_liftoff_commit, liftoff_commit_message
from releases.notes import (
    DEFAULT_QUOTE,
    FOOTER,
    NO_FEATURES,
    CommitInfo,
    Contributor,
    commits_between,
    contributors_from,
    draft_notes,
    group_commits,
    parse_log,
    parse_log_chunks,
    render_notes,
)

ADA = git.Actor("Ada Lovelace", "ada@example.test")
GRACE = git.Actor("Grace Hopper", "grace@example.test")
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def repo(tmp_path):
    """A real repository on main with one configured committer."""
    repo = git.Repo.init(tmp_path / "project", initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Test Committer")
        config.set_value("user", "email", "committer@example.test")
    return repo


def commit(repo, message, *, author=ADA, minutes=0):
    """An empty commit (same tree) with `message`, by `author`, `minutes` after START."""
    when = START + timedelta(minutes=minutes)
    return repo.index.commit(message, author=author, author_date=when, commit_date=when)


def info(subject, body="", *, sha="a" * 40, name="Ada Lovelace", email="ada@example.test"):
    return CommitInfo(
        sha=sha,
        short_sha=sha[:7],
        author_name=name,
        author_email=email,
        date=START,
        subject=subject,
        body=body,
    )


def render(groups, contributors=(), **overrides):
    kwargs = {
        "project_name": "Liftoff",
        "version": "1.4.0",
        "codename": "Stellar Drift",
        "summary": "",
        "groups": groups,
        "contributors": contributors,
        "compare_url_base": None,
        "commit_url_base": None,
    }
    return render_notes(**(kwargs | overrides))


# --- commits_between --------------------------------------------------------------------


def test_commits_between_lists_only_commits_after_the_tag_newest_first(repo):
    commit(repo, "chore: initial commit")
    repo.create_tag("v1.0.0")
    first = commit(repo, "feat(api): add tokens\n\nLonger explanation.\n", minutes=1)
    second = commit(repo, "fix: handle empty list", author=GRACE, minutes=2)

    commits = commits_between(repo.working_dir, since="v1.0.0", until="main")

    assert [c.sha for c in commits] == [second.hexsha, first.hexsha]
    newest, oldest = commits
    assert newest.short_sha == second.hexsha[:7]
    assert (newest.author_name, newest.author_email) == ("Grace Hopper", "grace@example.test")
    assert newest.subject == "fix: handle empty list"
    assert newest.body == ""
    assert oldest.subject == "feat(api): add tokens"
    assert oldest.body == "Longer explanation."
    assert oldest.date == START + timedelta(minutes=1)
    assert oldest.date.tzinfo is not None


def test_commits_between_without_since_lists_the_whole_history(repo):
    commit(repo, "chore: initial commit")
    commit(repo, "feat: more", minutes=1)

    commits = commits_between(repo.working_dir, since=None, until="main")

    assert [c.subject for c in commits] == ["feat: more", "chore: initial commit"]


def test_commits_between_leaves_merge_commits_out(repo):
    base = commit(repo, "chore: initial commit")
    repo.create_tag("v1.0.0")
    main_tip = commit(repo, "feat: on main", minutes=1)
    topic_tip = repo.index.commit("fix: on topic", parent_commits=[base], head=False)
    repo.index.commit("Merge branch 'topic'", parent_commits=[main_tip, topic_tip])

    commits = commits_between(repo.working_dir, since="v1.0.0", until="main")

    assert sorted(c.subject for c in commits) == ["feat: on main", "fix: on topic"]


def test_a_ref_that_looks_like_an_option_is_never_read_as_one(repo):
    commit(repo, "chore: initial commit")

    with pytest.raises(ValidationFailed, match=r"bad revision '--output=/tmp/x'"):
        commits_between(repo.working_dir, since=None, until="--output=/tmp/x")


def test_an_unknown_ref_is_a_validation_error(repo):
    commit(repo, "chore: initial commit")

    with pytest.raises(ValidationFailed, match=r"^Could not list the commits v9\.9\.9\.\.main"):
        commits_between(repo.working_dir, since="v9.9.9", until="main")


def test_parse_log_keeps_fields_aligned_when_a_body_contains_the_record_separator():
    sha1, sha2 = "1" * 40, "2" * 40
    out = (
        f"{sha1}\x00A\x00a@x\x002026-03-01T09:00:00+01:00\x00feat: one\x00odd\x1ebody\x1e\n"
        f"{sha2}\x00B\x00b@x\x002026-03-01T10:00:00+00:00\x00fix: two\x00\x1e"
    )

    first, second = parse_log(out)

    assert (first.sha, first.body, second.sha, second.subject) == (
        sha1,
        "odd\x1ebody",
        sha2,
        "fix: two",
    )
    assert first.date.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize("size", [1, 2, 7, 41, 1000])
def test_parse_log_gives_the_same_commits_whatever_the_pieces_the_output_arrives_in(size):
    out = "".join(
        f"{n * 40}\x00Näme {n}\x00{n}@x\x002026-03-01T09:0{n}:00+00:00\x00feat: {n}"
        f"\x00body {n}\nmore\x1e\n"
        for n in "123"
    )
    pieces = [out[i : i + size] for i in range(0, len(out), size)]

    commits = list(parse_log_chunks(pieces))

    assert commits == parse_log(out)
    assert [(c.sha[0], c.author_name, c.body) for c in commits] == [
        ("1", "Näme 1", "body 1\nmore"),
        ("2", "Näme 2", "body 2\nmore"),
        ("3", "Näme 3", "body 3\nmore"),
    ]


def test_parse_log_of_no_output_is_no_commits():
    assert parse_log("") == []
    assert list(parse_log_chunks([])) == []


# --- group_commits ----------------------------------------------------------------------


def test_grouping_by_type_and_scope():
    commits = [
        info("feat(ui): dark mode", sha="1" * 40),
        info("fix: off by one", sha="2" * 40),
        info("fix(security): escape names", sha="3" * 40),
        info("security: rotate keys", sha="4" * 40),
        info("chore(security): bump nh3", sha="5" * 40),
        info("perf(db): fewer queries", sha="6" * 40),
        info("docs: explain gates", sha="7" * 40),
        info("chore: tidy", sha="8" * 40),
        info("Update README", sha="9" * 40),
        info("Feat: capital type", sha="a" * 40),
    ]

    groups = group_commits(commits)

    def shas(key):
        return [item.sha[0] for item in groups[key]]

    assert list(groups) == [
        "breaking",
        "features",
        "performance",
        "security",
        "fixes",
        "docs",
        "other",
    ]
    # git log order is newest first; the notes list the oldest first.
    assert shas("features") == ["a", "1"]
    assert shas("fixes") == ["2"]
    assert shas("security") == ["5", "4", "3"]
    assert shas("performance") == ["6"]
    assert shas("docs") == ["7"]
    assert shas("other") == ["9", "8"]
    assert shas("breaking") == []
    feature = groups["features"][1]
    assert (feature.description, feature.scope, feature.short_sha, feature.author) == (
        "dark mode",
        "ui",
        "1111111",
        "Ada Lovelace",
    )
    assert groups["other"][0].description == "Update README"
    assert groups["other"][0].scope is None


def test_breaking_by_bang_and_by_footer_is_called_out_first():
    commits = [
        info("feat(api)!: drop v1 endpoints", sha="1" * 40),
        info(
            "refactor: rename settings",
            "Moves things around.\n\nBREAKING CHANGE: LIFTOFF_DIR is now\nLIFTOFF_DATA_DIR.\n"
            "Refs: #12",
            sha="2" * 40,
        ),
        info("fix: tolerate nulls", "BREAKING-CHANGE: null means unset now", sha="3" * 40),
        info("feat: harmless", "Mentions BREAKING CHANGE: only mid-line.", sha="4" * 40),
    ]

    groups = group_commits(commits)

    assert [i.sha[0] for i in groups["breaking"]] == ["3", "2", "1"]
    assert [i.sha[0] for i in groups["features"]] == ["4"]
    assert groups["fixes"] == []
    notes = {i.sha[0]: i.breaking_note for i in groups["breaking"]}
    assert notes == {
        "1": None,
        "2": "LIFTOFF_DIR is now LIFTOFF_DATA_DIR.",
        "3": "null means unset now",
    }


def test_contributors_are_deduplicated_by_email_and_sorted_by_name():
    commits = [
        info("feat: a", name="Zed", email="zed@example.test"),
        info("feat: b", name="ada lovelace", email="ADA@example.test"),
        info("feat: c", name="Ada Lovelace", email="ada@example.test"),
        info("feat: d", name="Brian", email="brian@example.test"),
    ]

    assert contributors_from(commits) == [
        Contributor("ada lovelace", "ADA@example.test", 2),
        Contributor("Brian", "brian@example.test", 1),
        Contributor("Zed", "zed@example.test", 1),
    ]


# --- render_notes -----------------------------------------------------------------------


def test_render_lists_sections_in_order_with_contributors():
    commits = [
        info("docs: guide", sha="7" * 40),
        info("chore: tidy", sha="6" * 40),
        info("fix: crash on start", sha="5" * 40),
        info("fix(security): escape", sha="4" * 40),
        info("perf: faster", sha="3" * 40),
        info("feat(ui): dark mode", sha="2" * 40, name="Grace Hopper", email="g@example.test"),
        info("feat!: new API", "BREAKING CHANGE: v1 is gone", sha="1" * 40),
    ]

    markdown = render(
        group_commits(commits),
        contributors_from(commits),
        summary="Faster and\nsafer.",
        commit_url_base="https://git.example.test/acme/liftoff/commit/",
    )

    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings == [
        '# 🌟 Liftoff v1.4.0 "Stellar Drift"',
        "## ⚠️ Breaking changes",
        "## ✨ Cosmic Highlights",
        "## ⚡ Performance",
        "## 🛡️ Security Fortifications",
        "## 🐛 Bug Exorcisms",
        "## 📚 Documentation",
        "## 🔧 Other changes",
        "## 🙏 Gratitude & Recognition",
    ]
    assert '> *"Faster and safer."*' in markdown
    assert (
        f"- **ui:** dark mode ([2222222](https://git.example.test/acme/liftoff/commit/{'2' * 40}))"
    ) in markdown
    assert "- new API ([1111111](" in markdown
    assert "\n  v1 is gone\n" in markdown
    assert "- Ada Lovelace (6 commits)\n- Grace Hopper (1 commit)\n" in markdown
    assert markdown.rstrip().endswith(f"---\n\n{FOOTER}")


def test_render_without_features_says_so_and_omits_other_empty_sections():
    markdown = render(group_commits([info("fix: one", sha="1" * 40)]))

    assert f"## ✨ Cosmic Highlights\n\n{NO_FEATURES}\n" in markdown
    assert "## 🐛 Bug Exorcisms\n\n- fix: one" not in markdown
    assert "## 🐛 Bug Exorcisms\n\n- one (1111111)\n" in markdown
    for absent in ("Breaking", "Performance", "Security", "Documentation", "Other"):
        assert absent not in markdown
    assert f'> *"{DEFAULT_QUOTE}"*' in markdown


def test_render_links_the_full_changelog_when_given_a_compare_base():
    markdown = draft_notes_from_groups(
        compare_url_base="https://git.example.test/acme/liftoff/compare",
        compare_range=("v1.3.0", "v1.4.0"),
    )

    assert (
        "**Full changelog:** [v1.3.0...v1.4.0]"
        "(https://git.example.test/acme/liftoff/compare/v1.3.0...v1.4.0)"
    ) in markdown


def draft_notes_from_groups(**overrides):
    return render(group_commits([info("feat: x")]), **overrides)


def test_no_raw_html_survives_from_commit_text():
    commits = [
        info("feat(<b>ui</b>): <script>alert(1)</script> banner", name="<img src=x onerror=y>"),
        info("<script>document.cookie</script>", sha="b" * 40),
    ]

    markdown = render(
        group_commits(commits),
        contributors_from(commits),
        project_name="<script>x</script>",
        summary="<iframe>",
    )

    assert "<script" not in markdown
    assert "<img" not in markdown
    assert "<iframe" not in markdown
    assert "<b>" not in markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt; banner" in markdown


def test_a_breaking_note_cannot_start_a_heading_or_a_list():
    commits = [
        info("feat!: one", "BREAKING CHANGE: # not a heading", sha="1" * 40),
        info("feat!: two", "BREAKING CHANGE: 2. not a list", sha="2" * 40),
    ]

    markdown = render(group_commits(commits))

    assert "\n  \\# not a heading\n" in markdown
    assert "\n  2\\. not a list\n" in markdown


def test_a_commit_without_a_subject_still_gets_a_line():
    groups = group_commits([info("", sha="1" * 40)])

    assert "- (no subject) (1111111)" in render(groups)


def test_a_commit_url_base_that_is_not_http_is_refused():
    with pytest.raises(ValidationFailed, match=r"commit_url_base must be an http\(s\) URL"):
        render(group_commits([info("feat: x")]), commit_url_base="javascript:alert(1)//")


# --- draft_notes ------------------------------------------------------------------------


def test_draft_notes_from_a_real_repository(repo):
    commit(repo, "chore: initial commit")
    repo.create_tag("v1.0.0")
    commit(repo, "feat(api): add tokens", minutes=1)
    commit(repo, "fix(security): check token scope", author=GRACE, minutes=2)
    fix = commit(repo, "fix: handle empty list", minutes=3)

    markdown = draft_notes(
        repo.working_dir,
        since="v1.0.0",
        until="main",
        project_name="Liftoff",
        version="v1.1.0",
        codename="Quiet Comet",
        summary="",
        commit_url_base="https://git.example.test/acme/liftoff/commit",
    )

    assert markdown.startswith('# 🌟 Liftoff v1.1.0 "Quiet Comet"\n')
    assert "initial commit" not in markdown
    assert "- **api:** add tokens ([" in markdown
    assert "## 🛡️ Security Fortifications\n\n- **security:** check token scope" in markdown
    assert f"- handle empty list ([{fix.hexsha[:7]}](" in markdown
    assert "- Ada Lovelace (2 commits)\n- Grace Hopper (1 commit)\n" in markdown


LIFTOFF = git.Actor(LIFTOFF_IDENTITY["name"], LIFTOFF_IDENTITY["email"])


def _notes(repo):
    return draft_notes(
        repo.working_dir,
        since="v1.0.0",
        until="main",
        project_name="Liftoff",
        version="1.1.0",
        codename="Quiet Comet",
        summary="",
    )


def test_the_version_bump_liftoff_commits_is_not_in_the_notes_nor_a_contributor(repo):
    commit(repo, "chore: initial commit")
    repo.create_tag("v1.0.0")
    commit(repo, "feat(api): add tokens", minutes=1)
    # What Prepare commits: Liftoff's identity and its trailer.
    bump = liftoff_commit_message(
        'chore(release): v1.1.0 "Quiet Comet"', body="Wisdom phase", version="1.1.0"
    )
    commit(repo, bump, author=LIFTOFF, minutes=2)

    markdown = _notes(repo)

    assert "add tokens" in markdown
    assert "**release:**" not in markdown and "Wisdom phase" not in markdown
    assert "## 🔧 Other changes" not in markdown
    assert "- Ada Lovelace (1 commit)\n" in markdown
    assert "- Liftoff (" not in markdown


def test_a_person_typing_a_release_subject_or_the_trailer_stays_in_the_notes(repo):
    commit(repo, "chore: initial commit")
    repo.create_tag("v1.0.0")
    # The same subject by a person, and the trailer typed by a person: both are changes.
    commit(repo, 'chore(release): v1.1.0 "Quiet Comet"', minutes=1)
    commit(repo, "fix: typo\n\nLiftoff-Release: 1.1.0\n", author=GRACE, minutes=2)
    # Liftoff's identity without the trailer (a commit made by hand in its workspace).
    commit(repo, "docs: by hand as Liftoff", author=LIFTOFF, minutes=3)

    markdown = _notes(repo)

    assert '- **release:** v1.1.0 "Quiet Comet" (' in markdown
    assert "- typo (" in markdown and "- Grace Hopper (1 commit)" in markdown
    assert "by hand as Liftoff" in markdown


def test_is_liftoff_commit_reads_the_identity_and_the_trailer_of_the_last_paragraph():
    message = liftoff_commit_message("chore(release): v2.0.0", version="2.0.0")
    assert message == "chore(release): v2.0.0\n\nLiftoff-Release: 2.0.0\n"
    body = message.partition("\n\n")[2]
    assert is_liftoff_commit(author_email="LIFTOFF@localhost", body=body)
    assert not is_liftoff_commit(author_email="ada@example.test", body=body)
    # The trailer quoted in the middle of a body is not a trailer.
    quoted = "Liftoff-Release: 2.0.0\n\nSee above."
    assert not is_liftoff_commit(author_email=LIFTOFF_IDENTITY["email"], body=quoted)
