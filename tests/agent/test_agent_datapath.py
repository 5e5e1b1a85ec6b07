"""The live agent compares each refresh's counters with the previous refresh's."""

from accelnet.agent.daemon import Agent, AgentConfig
from accelnet.diagnosis.facts import Facts
from accelnet.readers.host import CounterSample
from accelnet.readers.platform import Dmi

BASE = {"vf_rx_packets": 10, "vf_rx_bytes": 1, "vf_tx_packets": 10, "vf_tx_bytes": 1, "vf_tx_dropped": 0,
        "rx_queue_0_packets": 5, "tx_queue_0_packets": 5}


def facts_with(stats):
    facts = Facts(dmi=Dmi(None, None, None, None))
    facts.samples = {"eth0": [CounterSample(dict(stats), "ok", "", 0.0)]}
    return facts


def test_each_refresh_pairs_with_the_previous_reading():
    agent = Agent(AgentConfig())
    first = facts_with(BASE)
    agent._pair_with_previous(first)
    assert len(first.samples["eth0"]) == 1  # nothing to compare with yet

    second = facts_with(dict(BASE, rx_queue_0_packets=900))  # only the synthetic path moved
    agent._pair_with_previous(second)
    before, after = second.samples["eth0"]
    assert before.stats["rx_queue_0_packets"] == 5 and after.stats["rx_queue_0_packets"] == 900

    gone = Facts(dmi=Dmi(None, None, None, None))
    gone.samples = {"eth0": [CounterSample(None, "unavailable")]}
    agent._pair_with_previous(gone)  # netvsc re-attaching: no pair, and no crash
    assert len(gone.samples["eth0"]) == 1


def test_the_vfs_own_counters_pair_too_so_the_agent_judges_their_drops():
    agent = Agent(AgentConfig())
    first = facts_with(BASE)
    first.vf_samples = {"enP1s1": [CounterSample({"rx_out_of_buffer": 0}, "ok", "", 0.0)]}
    agent._pair_with_previous(first)
    second = facts_with(dict(BASE, vf_rx_packets=4010))
    second.vf_samples = {"enP1s1": [CounterSample({"rx_out_of_buffer": 400}, "ok", "", 30.0)]}
    agent._pair_with_previous(second)
    assert [s.stats["rx_out_of_buffer"] for s in second.vf_samples["enP1s1"]] == [0, 400]
    assert [s.stats["vf_rx_packets"] for s in second.samples["eth0"]] == [10, 4010]
