"""``ip -o addr show`` lines (iproute2's one-line form of samples/ip-addr-show_*)."""

from accelnet.parsers.ipaddr import parse_ip_addr

IP_O_ADDR = (
    "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
    "2: eth0    inet 10.0.0.4/24 metric 100 brd 10.0.0.255 scope global eth0\\       valid_lft forever preferred_lft forever\n"
    "2: eth0    inet6 fe80::7e1e:52ff:fe25:55d2/64 scope link \\       valid_lft forever preferred_lft forever\n"
    "5: enP37498s1    inet 10.0.0.5/24 brd 10.0.0.255 scope global dynamic enP37498s1\\       valid_lft 86395sec preferred_lft 86395sec\n"
    "5: enP37498s1    inet6 fe80::7e1e:52ff:fe25:55d2/64 scope link \\       valid_lft forever preferred_lft forever\n"
    "7: vlan10@eth0    inet 192.0.2.1/24 scope global vlan10\\       valid_lft forever preferred_lft forever\n"
)


def test_addresses_scopes_and_leases():
    got = [(a.ifindex, a.ifname, a.family, a.address, a.scope, a.dynamic) for a in parse_ip_addr(IP_O_ADDR)]
    assert got == [
        (1, "lo", "inet", "127.0.0.1/8", "host", False),
        (2, "eth0", "inet", "10.0.0.4/24", "global", False),
        (2, "eth0", "inet6", "fe80::7e1e:52ff:fe25:55d2/64", "link", False),
        (5, "enP37498s1", "inet", "10.0.0.5/24", "global", True),
        (5, "enP37498s1", "inet6", "fe80::7e1e:52ff:fe25:55d2/64", "link", False),
        (7, "vlan10", "inet", "192.0.2.1/24", "global", False),
    ]
    assert [a.ifname for a in parse_ip_addr(IP_O_ADDR) if a.is_global] == ["eth0", "enP37498s1", "vlan10"]


def test_other_lines_are_skipped():
    assert parse_ip_addr("") == []
    assert parse_ip_addr("2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP\n") == []
    assert parse_ip_addr("x: eth0 inet 1.2.3.4/8 scope global eth0\n\x00") == []


def test_a_lease_without_the_dynamic_flag_and_words_at_the_end_of_the_line():
    # SLAAC addresses have a finite valid_lft and no "dynamic" word; a line may end right
    # after "scope <scope>" or after "valid_lft <time>".
    text = ("2: eth0    inet6 2001:db8::5/64 scope global mngtmpaddr noprefixroute \\       valid_lft 86398sec\n"
            "3: eth1    inet6 fe80::1/64 scope link\n")
    got = [(a.ifname, a.scope, a.dynamic) for a in parse_ip_addr(text)]
    assert got == [("eth0", "global", True), ("eth1", "link", False)]
