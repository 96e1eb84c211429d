@quarantine
Feature: A quarantined message is kept, and copied when it is released
  Quarantined messages are not copied: they are not safe to deliver. Released by the
  administrator, they are delivered and copied at release (BEHAVIOUR.md §2.4).

  Background:
    Given a running sandbox with the Threat Defense Connector enabled

  Scenario: Spam waits in the Spam Quarantine, then is released, delivered and copied
    When an outside sender sends a message carrying GTUBE to 1 local recipient
    Then the quarantine "Spam Quarantine" holds the message
    And no mailbox receives anything
    And Threat Defense receives no journal
    When the administrator releases the message from its quarantine
    Then the mail log shows "MID \d+ released from quarantine \"Spam Quarantine\""
    And every recipient's mailbox receives the original
    And Threat Defense receives 1 journal
    And the quarantine "Spam Quarantine" is empty

  Scenario: Releasing a message that no quarantine holds is refused, naming it
    When the administrator releases message 999 from its quarantine
    Then the release is refused because "no message 999 in a quarantine"
