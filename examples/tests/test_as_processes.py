"""The plugin's fixtures with every part of the sandbox in its own process, as `tdcsim sandbox` runs
it: overriding `tdc_processes` is all it takes, the facade is the same."""

import pytest

from simulator.testing.harness import SandboxFacade
from simulator.testing.messages import MessageFactory


@pytest.fixture
def tdc_processes() -> bool:
    return True


def test_a_machine_in_its_own_process_copies_to_threat_defense_in_its_own(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    mail = tdc_messages.message()
    mid = tdc_sandbox.send_accepted(mail)
    tdc_sandbox.mail_log.wait_for(rf"TDC: Message \d+ created from message {mid} ")
    tdc_sandbox.settle()
    (journal,) = tdc_sandbox.journals()
    assert journal.valid and journal.rcpt_tos == (tdc_sandbox.config.connector.intake_address,)
    assert len(tdc_sandbox.mailbox(mail.rcpt_tos[0])) == 1
