# Bash completion for cos: commands, options, option values, composition
# scripts and system names. Load it in the current shell (or from ~/.bashrc):
#
#   source tools/cos/completion.bash
#
# It completes `./cos`, `cos` (e.g. a symlink on PATH) and this checkout's cos
# by its absolute path. The candidates come from `cos __complete`, i.e. from
# the CLI's own argument parser and the checkout being completed.

_cos_completion_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

_cos_complete() {
    local cur="${COMP_WORDS[COMP_CWORD]}" cos="${COMP_WORDS[0]}" line files=0
    cos="${cos/#\~/$HOME}"
    # The cos being completed when it is a file here, else this checkout's.
    if [[ "$cos" != */* || ! -x "$cos" ]]; then
        cos="$_cos_completion_root/cos"
    fi
    [[ "$cur" == "=" ]] && cur=""   # `--opt=`: readline completes after the '='
    COMPREPLY=()
    while IFS= read -r line; do
        if [[ "$line" == "@files" ]]; then
            files=1
        elif [[ -n "$line" ]]; then
            COMPREPLY+=("$line")
        fi
    done < <("$cos" __complete "$COMP_CWORD" "${COMP_WORDS[@]}" 2>/dev/null)
    if (( files )); then
        compopt -o filenames 2>/dev/null
        while IFS= read -r line; do
            COMPREPLY+=("$line")
        done < <(compgen -f -- "$cur")
    fi
    return 0
}

complete -F _cos_complete cos ./cos "$_cos_completion_root/cos"
