# Shared set-up steps for scripts/test and scripts/demo. Sourced, not run:
# the caller has `set -euo pipefail` and has already cd'ed to the repository root.

PYTHON="${PYTHON:-python3}"      # the interpreter that creates .venv
VENV="$PWD/.venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1

MG_STEP="set-up"
heading() {
    MG_STEP="$*"
    printf '\n==> %s\n' "$*"
}
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Name the step that failed: `set -e` alone leaves only the failing tool's output.
report_failure() {
    local status=$?
    if ((status != 0)); then
        printf '\n%s: failed during "%s" (exit status %d)\n' "$(basename "$0")" "$MG_STEP" "$status" >&2
    fi
}
trap report_failure EXIT

# True when as_root can work: we are root, or sudo works without a password.
can_be_root() {
    [[ $(id -u) -eq 0 ]] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }
}

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi
}

# apt_install PACKAGE...: install Debian/Ubuntu packages quietly.
# Returns non-zero (after saying why) instead of exiting, so callers decide how bad that is.
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        warn "apt-get not found, cannot install $*"
        return 1
    fi
    if ! can_be_root; then
        warn "installing $* needs root or passwordless sudo"
        return 1
    fi
    local log
    log="$(mktemp)"
    # env inside as_root: sudo would drop DEBIAN_FRONTEND otherwise.
    if as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$log" 2>&1; then
        rm -f "$log"
        return 0
    fi
    tail -n 15 "$log" >&2
    rm -f "$log"
    warn "apt-get install $* failed"
    return 1
}

# Graphviz's `dot` renders the graph pictures. Missing Graphviz is not fatal:
# the tests that render skip themselves and say why.
ensure_graphviz() {
    command -v dot >/dev/null 2>&1 && return 0
    heading "Installing Graphviz (the 'dot' program that renders graph pictures)"
    if apt_install graphviz && command -v dot >/dev/null 2>&1; then
        echo "installed: $(dot -V 2>&1)"
        return 0
    fi
    warn "continuing without Graphviz: rendering pictures will not work (render tests skip)." \
        "Install it yourself, e.g. 'sudo apt-get install graphviz' or 'brew install graphviz'."
}

# Create .venv if it is missing or broken, and put it first on PATH.
ensure_venv() {
    if ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
        heading "Creating the virtual environment .venv"
        command -v "$PYTHON" >/dev/null 2>&1 ||
            die "$PYTHON not found: install Python >= 3.10 or set PYTHON=/path/to/python3"
        "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
            die "microgradnn needs Python >= 3.10, $PYTHON is $("$PYTHON" -V 2>&1)"
        rm -rf "$VENV"
        if ! "$PYTHON" -m venv "$VENV"; then
            # Debian and Ubuntu ship venv's pip bootstrap as a separate package.
            rm -rf "$VENV"
            local version
            version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
            if ! { apt_install "python$version-venv" && "$PYTHON" -m venv "$VENV"; }; then
                die "could not create .venv; install the venv module (e.g. apt-get install python$version-venv)"
            fi
        fi
    fi
    export VIRTUAL_ENV="$VENV"
    export PATH="$VENV/bin:$PATH"
    unset PYTHONHOME
}

# quietly LOG COMMAND...: run COMMAND with its output in LOG; on failure show the end of
# the log (and where the whole of it is) and return the command's status.
quietly() {
    local log="$1"
    shift
    if "$@" >>"$log" 2>&1; then
        return 0
    else
        local status=$?
        tail -n 25 "$log" >&2
        warn "the full output is in $log"
        return "$status"
    fi
}

# The log of this run's package installs: pip is noisy (and setuptools' editable-install
# banner reads like a warning to a newcomer), so its output goes here and is shown only
# when a step fails.
INSTALL_LOG="$VENV/install.log"

# install_project EXTRAS: editable install of microgradnn[EXTRAS] into .venv.
# Skipped when the packaging files are unchanged since the last install of the same
# extras, so that re-runs are fast and work offline (remove .venv to force it).
install_project() {
    local extras="$1"
    local stamp="$VENV/.microgradnn-$extras.stamp"
    local want
    want="$(cat setup.cfg pyproject.toml | cksum)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
        python -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("microgradnn") is None)' 2>/dev/null; then
        return 0
    fi
    heading "Installing microgradnn[$extras] into .venv (editable; pip's output goes to .venv/install.log)"
    : >"$INSTALL_LOG"
    quietly "$INSTALL_LOG" python -m pip install --upgrade pip
    quietly "$INSTALL_LOG" python -m pip install -e ".[$extras]"
    echo "installed: microgradnn and $(python -m pip list --format=freeze 2>/dev/null | wc -l) packages"
    printf '%s\n' "$want" >"$stamp"
}

# PyTorch is optional: when it is installed, the tests also compare layers, losses and
# optimizers with it, and the benchmarks time it. The pin carries the +cpu label, so pip
# takes a CPU wheel where the machine has one and never the registry's build with several
# GB of CUDA packages. Failure is not fatal: the comparison tests skip and say why.
TORCH_VERSION="${TORCH_VERSION:-2.13.0+cpu}"
ensure_torch() {
    python -c 'import torch' >/dev/null 2>&1 && return 0
    if [[ "${MICROGRADNN_NO_TORCH:-}" == 1 ]]; then
        echo "skipping PyTorch (MICROGRADNN_NO_TORCH=1): the PyTorch comparison tests will skip"
        return 0
    fi
    heading "Installing PyTorch $TORCH_VERSION, CPU build (optional: for the comparison tests)"
    echo "about 190 MB to download, 750 MB installed; set MICROGRADNN_NO_TORCH=1 to skip it"
    if python -m pip install --only-binary=:all: "torch==$TORCH_VERSION" >>"$INSTALL_LOG" 2>&1; then
        echo "installed: torch $(python -c 'import torch; print(torch.__version__)')"
    else
        warn "PyTorch $TORCH_VERSION is not available from the configured package indexes" \
            "(details in $INSTALL_LOG); continuing: the PyTorch comparison tests will skip"
    fi
}

# Debian's Chromium runs the browser tests of the HTML pages (stepper, training view),
# driven by Playwright (in the test extra). Optional: without it those tests skip.
ensure_chromium() {
    command -v chromium >/dev/null 2>&1 && return 0
    command -v chromium-browser >/dev/null 2>&1 && return 0
    [[ -n "${MICROGRADNN_CHROMIUM:-}" ]] && return 0
    heading "Installing Chromium (optional: for the browser tests of the HTML pages)"
    if apt_install chromium && command -v chromium >/dev/null 2>&1; then
        echo "installed: $(chromium --version 2>/dev/null)"
        return 0
    fi
    warn "continuing without Chromium: the browser tests will skip"
}
