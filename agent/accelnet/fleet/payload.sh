# shellcheck shell=sh
# accelnet-fleet's question to one VM, sent through Azure Run Command (RunShellScript) and run
# there as root by the VM agent. Read-only: it reads the host, writes only in a private
# temporary directory that it removes, and changes no setting.
#
# Run Command returns only the last 4,096 bytes of stdout and of stderr, so the answer is
# one line on stdout (and, when it is longer, its next part as one line on stderr):
#   ACCELNET-FLEET 1 TOKEN KIND PART/PARTS LENGTH DATA
# DATA is base64 of gzip: the JSON report of `accelnet-check --json` where accelnet is
# installed (KIND report), else a bundle of accelnet-collect reduced to what the diagnosis
# reads (KIND bundle; accelnet/fleet/minibundle.py reads it and documents the format), or a
# message (KIND error); later parts are KIND part. An answer of more than two parts of CHUNK
# bytes waits in $STASH/accelnet-fleet.TOKEN (mode 0600) for the next calls, which run this
# script with PART 3, 5, ... and no collector; the call that prints the last part removes the
# file, and a first part removes those more than an hour old that a run gave up on.
#
# accelnet/fleet/payload.py puts #!/bin/sh first (this template is data, not a script, in the
# packages) and fills in the @NAME@ values (numbers and a hex token only: no
# text from Azure or a VM reaches this script) and the collector text. POSIX sh; uses
# coreutils, grep, find, tar, gzip and base64.
# For tests only: ACCELNET_FLEET_TEST_BUNDLE names a bundle (.tar.gz) to send instead of
# running the collector; ACCELNET_FLEET_TEST_CHECK, when set, is the accelnet-check to run
# (empty: none), whatever this machine has installed.

TOKEN='@TOKEN@'
PART='@PART@'
SAMPLE='@SAMPLE@'
LIMIT='@LIMIT@'
CHUNK='@CHUNK@'
MAX_PARTS='@MAX_PARTS@'
MAGIC=ACCELNET-FLEET

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}
export PATH
umask 077
W=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    [ -n "$W" ] && rm -rf -- "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# frame KIND PART PARTS LENGTH DATA: the line accelnet-fleet reads.
frame() {
    printf '%s 1 %s %s %s/%s %s %s\n' "$MAGIC" "$TOKEN" "$1" "$2" "$3" "$4" "$5"
}

# fail MESSAGE: answer with MESSAGE (why there is no diagnosis) and stop.
fail() {
    f_data=$(printf '%s' "$1" | head -c 1500 | gzip -9n | base64 | tr -d '\n')
    frame error 1 1 "${#f_data}" "$f_data"
    exit 0
}

# stash_dirs: where the rest of a long answer may wait (root-only /run first).
stash_dirs() {
    for s_dir in "${TMPDIR:-}" /run /var/tmp /tmp; do
        [ -n "$s_dir" ] && [ -d "$s_dir" ] && [ ! -L "$s_dir" ] && [ -w "$s_dir" ] && printf '%s\n' "$s_dir"
    done
}

# limited COMMAND...: COMMAND, stopped after LIMIT seconds where timeout(1) exists.
limited() {
    if command -v timeout >/dev/null 2>&1; then
        timeout "$LIMIT" "$@"
    else
        "$@"
    fi
}

# show FILE KIND PART: part PART (on stdout) and PART+1 (on stderr) of the answer in FILE.
show() {
    s_total=$(wc -c <"$1" | tr -d ' ')
    s_parts=$(((s_total + CHUNK - 1) / CHUNK))
    [ "$s_parts" -ge 1 ] || s_parts=1
    frame "$2" "$3" "$s_parts" "$s_total" "$(tail -c +$((($3 - 1) * CHUNK + 1)) "$1" | head -c "$CHUNK")"
    if [ "$3" -lt "$s_parts" ]; then
        frame part $(($3 + 1)) "$s_parts" "$s_total" "$(tail -c +$(($3 * CHUNK + 1)) "$1" | head -c "$CHUNK")" >&2
    fi
}

# --- later parts of a long answer -----------------------------------------------------------------

if [ "$PART" != 1 ]; then
    p_file=""
    for p_dir in $(stash_dirs); do
        if [ -f "$p_dir/accelnet-fleet.$TOKEN" ] && [ ! -L "$p_dir/accelnet-fleet.$TOKEN" ]; then
            p_file=$p_dir/accelnet-fleet.$TOKEN
            break
        fi
    done
    [ -n "$p_file" ] || fail "the rest of the answer is gone (no accelnet-fleet.$TOKEN): ask again"
    show "$p_file" part "$PART"
    p_total=$(wc -c <"$p_file" | tr -d ' ')
    [ $((PART + 1)) -ge $(((p_total + CHUNK - 1) / CHUNK)) ] && rm -f -- "$p_file"
    exit 0
fi

# --- the diagnosis --------------------------------------------------------------------------------

# keep NAME FILE: FILE goes into the reduced bundle as NAME.
keep() {
    printf '%s %s\n' "$1" "$2" >>"$W/keep"
}

# minibundle TOP: the snapshot in TOP reduced to what the diagnosis reads, as the text archive
# of accelnet/fleet/minibundle.py: directories, symlinks as they are, and the files it reads
# (the kernel log's VF lines, the counters of synthetic NICs, the CPU lines of cpuinfo). The
# files' sizes and bytes come from one wc and one cat (a process per file is slow on a VM).
minibundle() {
    : >"$W/keep"
    : >"$W/entries"
    m_n=0
    (cd "$1" && find . -path './root/sys/*' \( -name statistics -o -name queues -o -name power \) \
        -prune -o -print) >"$W/list" || return 1
    while IFS= read -r m_path; do
        m_rel=${m_path#./}
        case $m_rel in '' | . | *[!A-Za-z0-9._:@+,=/-]*) continue ;; esac
        m_file=$1/$m_rel
        if [ -L "$m_file" ]; then
            m_target=$(readlink -- "$m_file") || continue
            case $m_target in '' | *[!A-Za-z0-9._:@+,=/-]*) continue ;; esac
            printf 'L %s %s\n' "$m_rel" "$m_target" >>"$W/entries"
        elif [ -d "$m_file" ]; then
            printf 'D %s\n' "$m_rel" >>"$W/entries"
        elif [ -f "$m_file" ]; then
            m_n=$((m_n + 1))
            m_part=$W/part.$m_n
            case $m_rel in
                root/sys/*)
                    case ${m_rel##*/} in
                        @SYS_ATTRS@) keep "$m_rel" "$m_file" ;;
                    esac
                    ;;
                root/proc/cpuinfo)
                    grep '^processor' "$m_file" >"$m_part"
                    keep "$m_rel" "$m_part"
                    ;;
                cmd/dmesg.txt)
                    grep -E '@DMESG@' "$m_file" | tail -n 400 >"$m_part"
                    keep "$m_rel" "$m_part"
                    ;;
                cmd/ethtool-S.*)
                    if grep -q 'vf_rx_packets' "$m_file"; then
                        grep -E '@ETHTOOL@' "$m_file" >"$m_part"
                        keep "$m_rel" "$m_part"
                    elif [ "$(wc -c <"$m_file")" -le 200 ]; then
                        keep "$m_rel" "$m_file"
                    elif grep -E '@VF_ETHTOOL@' "$m_file" >"$m_part"; then
                        keep "$m_rel" "$m_part"
                    fi
                    ;;
                *) keep "$m_rel" "$m_file" ;;
            esac
        fi
    done <"$W/list"
    printf 'ACCELNET-MINIBUNDLE 1\n'
    cat -- "$W/entries"
    if [ -s "$W/keep" ]; then
        # shellcheck disable=SC2046  # the paths hold no blanks (checked above)
        wc -c -- $(while read -r k_name k_file; do printf '%s\n' "$k_file"; done <"$W/keep") >"$W/sizes" || return 1
        while read -r k_name k_file && read -r k_size k_wc_file <&3; do
            [ "$k_file" = "$k_wc_file" ] || return 1
            printf 'F %s %s\n' "$k_name" "$k_size"
        done <"$W/keep" 3<"$W/sizes"
    fi
    printf 'DATA\n'
    if [ -s "$W/keep" ]; then
        # shellcheck disable=SC2046
        cat -- $(while read -r k_name k_file; do printf '%s\n' "$k_file"; done <"$W/keep")
    fi
}

write_collector() {
    cat <<'ACCELNET_FLEET_COLLECTOR_END'
@COLLECTOR@
ACCELNET_FLEET_COLLECTOR_END
}

# send KIND FILE: the answer in FILE (base64): the first two parts now, the rest kept for
# later calls.
send() {
    s_total=$(wc -c <"$2" | tr -d ' ')
    s_parts=$(((s_total + CHUNK - 1) / CHUNK))
    [ "$s_parts" -le "$MAX_PARTS" ] || fail "the answer is $s_total bytes: more than $MAX_PARTS parts of $CHUNK"
    if [ "$s_parts" -gt 2 ]; then
        s_kept=""
        for s_dir in $(stash_dirs); do
            if (set -C && cat -- "$2" >"$s_dir/accelnet-fleet.$TOKEN") 2>/dev/null; then
                s_kept=1
                break
            fi
        done
        [ -n "$s_kept" ] || fail "no directory to keep the rest of a $s_total-byte answer in"
    fi
    show "$2" "$1" 1
}

for s_dir in $(stash_dirs); do
    find "$s_dir" -maxdepth 1 -name 'accelnet-fleet.*' -type f -user 0 -mmin +60 -exec rm -f -- {} + 2>/dev/null
done
W=$(mktemp -d "${TMPDIR:-/tmp}/accelnet-fleet.XXXXXX" 2>/dev/null) || fail "cannot create a temporary directory"

KIND=""
CHECK=$(command -v accelnet-check 2>/dev/null)
[ -n "${ACCELNET_FLEET_TEST_CHECK+set}" ] && CHECK=$ACCELNET_FLEET_TEST_CHECK
if [ -n "$CHECK" ]; then
    limited "$CHECK" --json --sample-seconds "$SAMPLE" --timeout "$LIMIT" >"$W/report.json" 2>"$W/stderr"
    # 0 to 3 are verdicts, each with its report; anything else: the collector answers instead
    if [ $? -le 3 ] && [ -s "$W/report.json" ] && gzip -9n <"$W/report.json" >"$W/answer.gz"; then
        KIND=report
    fi
fi
if [ -z "$KIND" ]; then
    if [ -n "${ACCELNET_FLEET_TEST_BUNDLE:-}" ]; then
        cp -- "$ACCELNET_FLEET_TEST_BUNDLE" "$W/bundle.tar.gz" || fail "no test bundle"
    else
        write_collector >"$W/accelnet-collect" || fail "cannot write the collector to $W"
        [ "$(head -c 9 "$W/accelnet-collect")" = '#!/bin/sh' ] ||
            fail "accelnet-check is not installed here and accelnet-fleet had no accelnet-collect to send"
        limited sh "$W/accelnet-collect" "$W/bundle.tar.gz" --sample-seconds "$SAMPLE" --force \
            >/dev/null 2>"$W/stderr" || fail "accelnet-collect failed: $(tail -n 1 "$W/stderr")"
    fi
    mkdir "$W/x" || fail "cannot write to $W"
    tar -xzf "$W/bundle.tar.gz" -C "$W/x" 2>"$W/stderr" || fail "cannot unpack the bundle: $(tail -n 1 "$W/stderr")"
    if [ ! -d "$W/x/snapshot" ] || [ -L "$W/x/snapshot" ]; then
        fail "the bundle holds no snapshot directory"
    fi
    minibundle "$W/x/snapshot" >"$W/mini" || fail "cannot list the bundle"
    gzip -9n <"$W/mini" >"$W/answer.gz" || fail "gzip failed"
    KIND=bundle
fi
base64 <"$W/answer.gz" | tr -d '\n' >"$W/answer.b64" || fail "base64 failed"
send "$KIND" "$W/answer.b64"
exit 0
