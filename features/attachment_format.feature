@attachment_format
Feature: The journal copy carries the delivered message, byte for byte
  The copy is a new message with its own MID, sent to the intake address only, wrapping the
  original exactly as the mailbox received it (BEHAVIOUR.md §3).

  Background:
    Given a running sandbox with the Threat Defense Connector enabled

  Scenario: The copy's envelope names only the intake address
    When an outside sender sends a message to 2 local recipients through the public listener
    Then Threat Defense receives 1 journal
    And the journal's envelope has one recipient, the intake address
    And the journal's envelope sender is the gateway's system address
    And the journal arrived over TLS 1.2 or better

  Scenario: The wrapper is a journal report about the original
    When an outside sender sends a message to 3 local recipients through the public listener
    Then Threat Defense receives 1 journal
    And the journal is multipart/mixed with the journal marker
    And the journal's From is the system address and its To is the intake address
    And the journal's subject is the original's subject
    And the journal's report gives the sender, subject and Message-ID and one To line per envelope recipient
    And the journal has a MID of its own and names the original's MID
    And Threat Defense found the journal valid

  Scenario Outline: The original survives byte for byte: <kind>
    When an outside sender sends <kind> to 1 local recipient through the public listener
    Then Threat Defense receives 1 journal
    And the journal's message/rfc822 part is byte-identical to what the mailbox received
    And the mailbox received the sent bytes unchanged after the gateway's trace headers
    And the original in the mailbox carries X-IronPort-RemoteIP with the client's address
    And Threat Defense found the journal valid

    Examples:
      | kind                                   |
      | a plain message                        |
      | a message with an encoded UTF-8 subject |
      | a message with a raw UTF-8 subject     |
      | a message with an 8-bit body           |
      | a message with attachments             |
      | a malformed MIME message               |
