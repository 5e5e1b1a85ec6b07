#!/bin/sh
# textfile-unpublish: remove what accelnet-agent-textfile.service published into node_exporter's
# textfile directory (accelnet.prom, and the temporary file of an interrupted run), wherever
# ACCELNET_TEXTFILE_DIR pointed it: the packages' defaults, the environment files (quoted either
# way) and the unit's Environment= with its drop-ins (systemctl edit). Installed as
# /usr/lib/accelnet/textfile-unpublish; the .deb's prerm and the rpm's %preun run it on removal,
# once the timer is stopped: stale metrics of a removed agent would mislead. Only files of
# those names are removed, and it never fails.
{
    echo /var/lib/prometheus/node-exporter
    echo /var/lib/node_exporter/textfile_collector
    sed -n "s/^[[:space:]]*ACCELNET_TEXTFILE_DIR=[\"']\{0,1\}\([^\"']*\)[\"']\{0,1\}[[:space:]]*\$/\1/p" \
        /etc/default/accelnet-agent /etc/sysconfig/accelnet-agent 2>/dev/null
    systemctl show -p Environment accelnet-agent-textfile.service 2>/dev/null | sed 's/^Environment=//' \
        | tr ' ' '\n' | sed -n 's/^"\{0,1\}ACCELNET_TEXTFILE_DIR=\([^"]*\)"\{0,1\}$/\1/p'
} | while IFS= read -r dir; do
    case "$dir" in
        /*) rm -f "$dir/accelnet.prom" "$dir"/.accelnet.prom.*.tmp 2>/dev/null ;;
    esac
done
exit 0
