@tls_error_logging
Feature: A TLS failure on the way to Threat Defense is logged the documented way, and only delays the copy
  The connector sends copies with STARTTLS required and TLS 1.2 or better, verifying the
  certificate. When that fails the mail log says, byte for byte,
  "TDC: Message <copy MID> delivery failed to Cisco Secure Email Threat Defense: TLS Error."
  while the original is delivered on time and nobody gets a bounce (BEHAVIOUR.md §4).

  Background:
    Given a running sandbox with the Threat Defense Connector enabled

  Scenario Outline: <fault>: the copy fails with the seed's line and is retried; the original is not touched
    Given Threat Defense has the fault "<fault>"
    When an outside sender sends a message to 1 local recipient through the public listener
    Then every recipient's mailbox receives the original
    And the mail log shows, for the copy, "TDC: Message <copy MID> delivery failed to Cisco Secure Email Threat Defense: TLS Error."
    And the copy is still queued for retry
    When the next retry falls due
    Then the mail log shows, for the copy, "TDC: Message <copy MID> delivery failed to Cisco Secure Email Threat Defense: TLS Error." 2 times
    And Threat Defense receives no journal
    And no DSN is sent

    Examples:
      | fault           |
      | no-starttls     |
      | untrusted-cert  |
      | wrong-host-cert |
      | expired-cert    |
      | tls1.1-only     |

  Scenario: The seed's example: message 3 is delivered, its copy message 4 fails with TLS Error
    Given 1 incoming message has already been delivered and copied
    And Threat Defense has the fault "untrusted-cert"
    When an outside sender sends a message to 1 local recipient through the public listener
    Then the gateway answers 250 and names MID 3
    And tracking message 3 shows, in this order:
      | event                                                                           |
      | Message 3 queued for delivery.                                                  |
      | (DCID <n>) Delivery started for message 3 to <recipient>.                       |
      | (CID <n>) Delivery details: Message 3 sent to <recipient>                       |
      | Message 3 to <recipient> received remote SMTP response "<response>"             |
      | TDC: Message 4 delivery failed to Cisco Secure Email Threat Defense: TLS Error. |

  Scenario: Once the fault is gone, the retry delivers the copy
    Given Threat Defense has the fault "expired-cert"
    When an outside sender sends a message to 1 local recipient through the public listener
    Then the mail log shows, for the copy, "TDC: Message <copy MID> delivery failed to Cisco Secure Email Threat Defense: TLS Error."
    When Threat Defense's faults are cleared
    And the next retry falls due
    Then Threat Defense receives 1 journal
    And the mail log shows "TDC: Message \d+ delivered to Cisco Secure Email Threat Defense\."
