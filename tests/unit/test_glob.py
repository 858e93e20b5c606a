"""Path globs: syntax, expansions, pseudo files, errors, and a reference matcher (hypothesis)."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systrace_py.policy.glob import GlobError, PathGlob, escape, expand_path, is_literal

ENV = {"HOME": "/home/alice", "USER": "alice", "CWD": "/work/proj", "TMPDIR": "/var/tmp"}


def m(pattern: str, path: str) -> bool:
    return PathGlob(pattern, ENV).matches(path)


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    # * stays within one component, matches dot files, never the empty component
    ("/tmp/*", "/tmp/a", True),
    ("/tmp/*", "/tmp/.hidden", True),
    ("/tmp/*", "/tmp/a/b", False),
    ("/tmp/*", "/tmp", False),
    ("/tmp/*.txt", "/tmp/a.txt", True),
    ("/tmp/*.txt", "/tmp/dir/a.txt", False),
    ("/*", "/", False),
    # ** as a whole component: zero or more components
    ("/tmp/**", "/tmp", True),
    ("/tmp/**", "/tmp/a/b/c", True),
    ("/tmp/**", "/tmpfoo", False),
    ("/tmp/**", "/tmp2/a", False),
    ("/a/**/b", "/a/b", True),
    ("/a/**/b", "/a/x/y/b", True),
    ("/a/**/b", "/a/x/y/bc", False),
    ("/a/**/b", "/a/x/b/y", False),
    ("/**", "/", True),
    ("/**", "/etc/passwd", True),
    ("/**/.git/**", "/src/p/.git/config", True),
    ("/", "/", True),
    ("/", "/a", False),
    # ? and classes
    ("/x/?", "/x/a", True),
    ("/x/?", "/x/ab", False),
    ("/x/[ab]c", "/x/bc", True),
    ("/x/[ab]c", "/x/cc", False),
    ("/x/[!ab]c", "/x/cc", True),
    ("/x/[!ab]c", "/x/ac", False),
    ("/x/[^ab]c", "/x/ac", False),
    ("/x/[a-c]", "/x/b", True),
    ("/x/[]]", "/x/]", True),
    ("/x/[!a]", "/x//", False),
    # braces, nested, with globs and slashes inside
    ("/etc/{passwd,shadow}", "/etc/shadow", True),
    ("/etc/{passwd,shadow}", "/etc/group", False),
    ("/usr/{lib,lib{32,64}}/**", "/usr/lib64/x.so", True),
    ("/usr/{lib,lib{32,64}}/**", "/usr/lib6/x.so", False),
    ("{/usr,/opt/*}/bin/*", "/opt/tool/bin/run", True),
    ("/tmp/{,x}y", "/tmp/y", True),
    ("/tmp/{a*,b?}", "/tmp/bz", True),
    ("/tmp/{a*,b?}", "/tmp/bzz", False),
    # escapes are literal
    ("/a\\*", "/a*", True),
    ("/a\\*", "/ab", False),
    ("/a\\{b\\}", "/a{b}", True),
    ("/price\\$5", "/price$5", True),
    ("/cost$", "/cost$", True),
    # regex metacharacters in literal text are literal
    ("/a.b", "/axb", False),
    ("/a+(b)", "/a+(b)", True),
    # trailing slash and doubled slashes in a pattern are spelling only
    ("/tmp/", "/tmp", True),
    ("/tmp//x", "/tmp/x", True),
    # expansions
    ("~/.ssh/**", "/home/alice/.ssh/id_rsa", True),
    ("~", "/home/alice", True),
    ("$HOME/*", "/home/alice/f", True),
    ("$HOME/*", "/home/bob/f", False),
    ("$CWD/**", "/work/proj/src/a.c", True),
    ("$TMPDIR/*", "/var/tmp/x", True),
    ("$TMPDIR/*", "/tmp/x", False),
    ("/home/$USER/**", "/home/alice/x", True),
    ("/run/user/$USER", "/run/user/bob", False),
    ("{~,/root}/.ssh/*", "/root/.ssh/x", True),
    ("{~,/root}/.ssh/*", "/home/alice/.ssh/x", True),
    # pseudo files the engine reports for descriptors
    ("pipe:*", "pipe:[1234]", True),
    ("pipe:*", "socket:[1234]", False),
    ("socket:*", "socket:[99]", True),
    ("anon_inode:*", "anon_inode:[eventfd]", True),
    ("anon_inode:\\[eventfd\\]", "anon_inode:[eventfd]", True),
    ("anon_inode:\\[eventfd\\]", "anon_inode:[timerfd]", False),
    ("memfd:*", "/memfd:jit (deleted)", True),
    ("memfd:jit*", "/memfd:jit-cache (deleted)", True),
    ("memfd:jit*", "/memfd:other (deleted)", False),
    ("memfd:x", "memfd:x", True),
    ("/**", "pipe:[1]", False),
    ("/tmp/*", "/tmp/gone (deleted)", True),
    # the empty path (an unreadable argument) matches nothing, not even /**
    ("/**", "", False),
])
def test_matches(pattern: str, path: str, expected: bool) -> None:
    assert m(pattern, path) is expected


@pytest.mark.parametrize(("pattern", "fragment"), [
    ("", "empty pattern"),
    ("tmp/x", "not an absolute path"),
    ("./x", "not an absolute path"),
    ("~bob/x", "not an absolute path"),
    ("fifo:*", "not an absolute path"),
    ("/a**", "'**' must be a whole path component"),
    ("/**b", "'**' must be a whole path component"),
    ("/a/***", "'**' must be a whole path component"),
    ("/a/**x/b", "'**' must be a whole path component"),
    ("/a[b", "unbalanced '['"),
    ("/a/[!", "unbalanced '['"),
    ("/a{b", "unbalanced '{'"),
    ("/a{b,{c}", "unbalanced '{'"),
    ("/a}b", "unbalanced '}'"),
    ("/a/[x/y]", "cannot match '/'"),
    ("/[z-a]", "bad character class"),
    ("/x\\", "lone backslash"),
    ("$FOO/x", "unknown variable $FOO"),
    ("/x/$BAR", "unknown variable $BAR"),
    ("/x/$HOME", "$HOME may only start a pattern"),
    ("/{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}{o,p}{q,r}{s,t}{u,v}", "too many alternatives"),
])
def test_bad_patterns(pattern: str, fragment: str) -> None:
    with pytest.raises(GlobError, match=None) as info:
        PathGlob(pattern, ENV)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_pattern_is_kept_as_written_and_compiled_once() -> None:
    glob = PathGlob("$HOME/.ssh/**", ENV)
    assert glob.pattern == "$HOME/.ssh/**"
    assert PathGlob("$HOME/.ssh/**", ENV).regex is glob.regex  # cached
    assert glob == PathGlob("$HOME/.ssh/**", dict(ENV))
    assert glob != PathGlob("$HOME/.ssh/**", {**ENV, "HOME": "/home/bob"})


def test_expansion_values_are_literal_not_globs() -> None:
    env = {**ENV, "HOME": "/home/a*b"}
    glob = PathGlob("~/x", env)
    assert glob.matches("/home/a*b/x")
    assert not glob.matches("/home/aZZb/x")


def test_missing_variables_fall_back_and_relative_home_is_refused() -> None:
    assert PathGlob("$TMPDIR/x", {"HOME": "/h", "USER": "u", "CWD": "/"}).matches("/tmp/x")
    with pytest.raises(GlobError, match="HOME is not an absolute path"):
        PathGlob("~/x", {"HOME": "relative", "USER": "u", "CWD": "/"})


def test_default_env_is_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/envuser")
    assert PathGlob("~/f").matches("/home/envuser/f")


def test_expand_path_and_is_literal() -> None:
    assert expand_path("$HOME/x", ENV) == "/home/alice/x"
    assert expand_path("~", ENV) == "/home/alice"
    assert expand_path("/srv/$USER/in", ENV) == "/srv/alice/in"
    with pytest.raises(GlobError, match="glob characters"):
        expand_path("/tmp/*", ENV)
    with pytest.raises(GlobError, match="absolute"):
        expand_path("tmp/x", ENV)
    assert is_literal("/usr/bin/cat")
    assert not is_literal("/usr/bin/*")
    assert not is_literal("$HOME/bin/x")
    assert not is_literal("bin/cat")


# --- a reference matcher: component lists, fnmatch per component, ** by recursion -----------

def ref_match(pattern: list[str], path: list[str]) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(ref_match(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatch.fnmatchcase(path[0], head) and ref_match(rest, path[1:])


_token = st.sampled_from(["a", "b", ".", "*", "?", "[ab]", "[!a]"])
_component = st.lists(_token, min_size=1, max_size=3).map("".join).filter(
    lambda c: "**" not in c)
_pattern_components = st.lists(st.one_of(_component, st.just("**")), min_size=0, max_size=4)
_path_components = st.lists(
    st.text(alphabet="ab.", min_size=1, max_size=3).filter(lambda c: c not in (".", "..")),
    min_size=0, max_size=4)


@settings(max_examples=150, deadline=None)
@given(_pattern_components, _path_components)
def test_against_reference_matcher(pattern: list[str], path: list[str]) -> None:
    text = "/" + "/".join(pattern)
    assert PathGlob(text, ENV).matches("/" + "/".join(path)) == ref_match(pattern, path)


@settings(max_examples=120, deadline=None)
@given(_pattern_components, st.lists(_pattern_components.filter(bool), min_size=1, max_size=3),
       _pattern_components, _path_components)
def test_braces_against_reference(prefix: list[str], alternatives: list[list[str]],
                                  suffix: list[str], path: list[str]) -> None:
    group = "{" + ",".join("/".join(alt) for alt in alternatives) + "}"
    text = "/" + "/".join([*prefix, group, *suffix])
    expected = any(ref_match([*prefix, *alt, *suffix], path) for alt in alternatives)
    assert PathGlob(text, ENV).matches("/" + "/".join(path)) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="ab*?[]{},\\$~!-. ", min_size=1, max_size=4), min_size=0,
                max_size=3))
def test_escape_matches_exactly_that_path(components: list[str]) -> None:
    path = "/" + "/".join(components)
    glob = PathGlob(escape(path), ENV)
    assert glob.matches(path)
    assert not glob.matches(path + "x")
    assert escape("/a*b") == "/a\\*b"


# --- matching by groups (issue 16: a learned libraries rule's first question) ----------------

_LIBRARIES = ("{{/usr/lib,/usr/lib/x86_64-linux-gnu,/usr/lib64,/usr/local/lib}/"
              "{*.so*,*.a,*crt*.o,glibc-hwcaps/*/*.so*},/etc/ld.so.cache}")


def test_a_question_compiles_only_the_alternatives_that_can_match() -> None:
    """The first question about a many-alternative pattern compiles the group of the one
    directory the path is in, not the whole regex (~1 ms at a learned policy's first library
    open); after GROUPED_ASKS questions the whole regex answers, the same."""
    from systrace_py.policy import glob as glob_module

    glob = PathGlob(_LIBRARIES, ENV)
    assert glob.matches("/usr/lib/x86_64-linux-gnu/libc.so.6")
    compiled = glob._compiled
    assert compiled._regex is None  # the whole regex: never compiled
    groups = [group for groups in compiled._grouped()[1].values() for group in groups]
    assert [group[1] for group in groups if group[2] is not None] == [
        r"(?:[^/]*\.so[^/]*/|[^/]*\.a/|[^/]*crt[^/]*\.o/)"]  # that directory's, by depth
    assert compiled.matches("/etc/ld.so.cache/")  # (an exact alternative: no regex at all)
    assert not compiled.matches("/etc/ld.so.cache.x/")
    assert sum(group[2] is not None for group in groups) == 1
    questions = ["/usr/lib/libm.so/", "/usr/lib/x/libm.so/", "/usr/lib64/glibc-hwcaps/v3/a.so/",
                 "/usr/lib64/glibc-hwcaps/a.so/", "/usr/local/lib/crt1.o/", "/usr/lib//a.so/",
                 "/usr/lib/a.so//", "pipe:[1]/"]
    answers = [compiled.matches(q) for q in questions]
    assert answers == [True, False, True, False, True, False, False, False]
    for _ in range(glob_module.GROUPED_ASKS):
        compiled.matches("/usr/lib/libm.so/")
    assert [compiled.matches(q) for q in questions] == answers
    assert compiled._regex is not None


_group_token = st.sampled_from(["a", "b", ".", "*", "?", "[ab]", "[!a]", "{a,b}", "{a,*}",
                                "{a/b,c}", "\\*"])
_group_component = st.lists(_group_token, min_size=1, max_size=3).map("".join).filter(
    lambda c: "**" not in c)
_group_pattern = st.one_of(
    st.lists(st.one_of(_group_component, st.just("**")), min_size=0, max_size=4).map(
        lambda cs: "/" + "/".join(cs)),
    st.sampled_from(["pipe:*", "memfd:a*", "socket:[*]"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(_group_pattern, min_size=1, max_size=4),
       st.text(alphabet="ab./*[]:", max_size=12),
       st.sampled_from(["", "/", "//", "memfd:", "pipe:", "/memfd:"]))
def test_groups_answer_as_the_whole_regex(patterns: list[str], tail: str, head: str) -> None:
    """Asking a pattern's alternatives by groups (its literal start, its slashes) answers
    every text -- empty names ("//"), pseudo names, no trailing slash -- as its whole regex."""
    import re

    from systrace_py.policy.glob import _Compiled

    text = "{" + ",".join(patterns) + "}" if len(patterns) > 1 else patterns[0]
    if not text.startswith(("/", "pipe:", "memfd:", "socket:")):
        text = "/" + text
    try:
        glob = PathGlob(text, ENV)
    except GlobError:
        return
    path = head + tail
    for candidate in (path, path + "/"):
        compiled = _Compiled(glob._compiled.alternatives)  # (fresh: asked by its groups)
        expected = re.fullmatch(compiled.source, candidate, re.DOTALL) is not None
        assert compiled.matches(candidate) == expected, (text, candidate)


# --- review 18: hostile patterns against the whole regex, and classes spanning '/' ----------

@pytest.mark.parametrize("pattern", ["/a/x[.-0]y", "/a/[+-0]", "/a/*[.-0]*", "/a/[\\.-0]",
                                     "/a/[ -~]", "/a/[!a][.-0]"])
def test_a_class_whose_range_holds_a_slash_is_refused(pattern: str) -> None:
    """``[.-0]`` names no '/', but its range ('.' to '0') holds one: compiled as written it
    matched '/' -- ``/a/*[.-0]*`` matched /a/b/c in the whole regex, and not in the groups
    (whose slash count assumes a component never holds one), so a decision changed after
    GROUPED_ASKS questions.  A class never matches '/' (the documented syntax): such a
    range is a load error, as a class naming '/' is.  (Failed on main: loaded, and matched.)"""
    with pytest.raises(GlobError, match="cannot match '/'"):
        PathGlob(pattern, ENV)


def test_a_negated_class_with_such_a_range_loads_and_never_matches_a_slash() -> None:
    glob = PathGlob("/a/x[!.-0]y", ENV)
    assert not glob.matches("/a/x/y")
    assert glob.matches("/a/xqy")


_hostile_token = st.sampled_from([
    "a", "b", ".", "*", "?", "[ab]", "[!a]", "[]]", "[!]]", "[a-]", "[-a]", "[+-.]", "[0-9]",
    "{a,b}", "{a,*}", "{a/b,c}", "{,a}", "{a/**,b}", "\\*", "\\\\", "\\{", "\\/", "$USER",
    "\n", "(", ")", "|", "^", "$", "+", "\\[", "-", "[!.-0]", "[.-0]"])
_hostile_component = st.lists(_hostile_token, min_size=1, max_size=3).map("".join).filter(
    lambda c: "**" not in c)
_hostile_pattern = st.one_of(
    st.tuples(st.sampled_from(["", "~", "$CWD", "$TMPDIR", "$HOME"]),
              st.lists(st.one_of(_hostile_component, st.just("**")), min_size=0, max_size=4))
    .map(lambda t: t[0] + "/" + "/".join(t[1])),
    st.sampled_from(["pipe:*", "memfd:a*", "socket:[*]", "/memfd:x", "anon_inode:[!a]*"]))
_HOSTILE_ENV = {"HOME": "/h(o)me/a|b", "USER": "u*[s]", "CWD": "/w.rk/p+r\n/j",
                "TMPDIR": "/t$mp"}


@settings(max_examples=500, deadline=None)
@given(st.lists(_hostile_pattern, min_size=1, max_size=4),
       st.text(alphabet="ab./*[]:\n-+()|^$u\\", max_size=14),
       st.sampled_from(["", "/", "//", "memfd:", "pipe:", "/memfd:", "/h(o)me/a|b/",
                        "/w.rk/p+r\n/j/", "/t$mp/"]))
def test_groups_answer_hostile_patterns_as_the_whole_regex(
        patterns: list[str], tail: str, head: str) -> None:
    """Review 18: the groups against the whole regex with regex metacharacters and newlines
    in names, expansions and $USER holding them, escaped slashes, classes of ']' and '-',
    empty brace alternatives."""
    import re

    from systrace_py.policy.glob import _Compiled

    text = "{" + ",".join(patterns) + "}" if len(patterns) > 1 else patterns[0]
    try:
        glob = PathGlob(text, _HOSTILE_ENV)
    except GlobError:
        return
    path = head + tail
    for candidate in (path, path + "/"):
        compiled = _Compiled(glob._compiled.alternatives)
        expected = re.fullmatch(compiled.source, candidate, re.DOTALL) is not None
        assert compiled.matches(candidate) == expected, (text, candidate)


_plain_token = st.sampled_from(["a", "b", "0", ".", "-", "]", "*", "?", "[ab]", "[0-9]", "[a-]",
                                "[-a]", "[+-.]", "[,{]", "[!a]", "[]]", "{a,b}", "{[0-9],x}",
                                "{,[1-9]}"])
_plain_component = st.lists(_plain_token, min_size=1, max_size=4).map("".join).filter(
    lambda c: "**" not in c)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(_plain_component, st.just("**")), min_size=1, max_size=3),
       st.lists(st.text(alphabet="ab0.-],{", min_size=1, max_size=4).filter(
           lambda c: c not in (".", "..")), min_size=1, max_size=4))
def test_plain_classes_read_at_once_as_one_by_one(components: list[str],
                                                  path: list[str]) -> None:
    """learn37: brace expansion takes a run of plain characters and classes (no ``!``/``^``,
    ``]`` or escape in them) at once, and a pattern whose classes are all plain is read by
    the simple path -- as the character-by-character reading does, which an escape forces
    (``\\x`` is ``x``)."""
    text = "/" + "/".join(components)
    try:
        fast = PathGlob("/x" + text, ENV)
    except GlobError:
        with pytest.raises(GlobError):
            PathGlob("/\\x" + text, ENV)
        return
    slow = PathGlob("/\\x" + text, ENV)
    for name in ("x", "y"):
        full = "/" + "/".join([name, *path])
        assert fast.matches(full) == slow.matches(full), (text, full)


def test_a_class_of_a_star_twice_is_no_double_star() -> None:
    """``[**]`` is a class of ``*`` (as the character-by-character reading took it), not a
    ``**`` glued to a name: the fast reading of plain classes (learn37) refused to load it
    (review 36)."""
    for pattern, path in (("/a/[**]", "/a/*"), ("/a/x[**]y", "/a/x*y"), ("/a/[*]*", "/a/*b")):
        glob = PathGlob(pattern)
        assert glob.matches(path), pattern
        assert not glob.matches("/a/b/c"), pattern
    with pytest.raises(GlobError):
        PathGlob("/a/[*]**")
