@retries
Feature: Copies that cannot be delivered are retried by the bounce profile and never bounce to the sender
  Soft failures (network, TLS, 4xx) are retried: first after 60 s, then waits doubling up to an
  hour, giving up after 100 retries or 72 hours in the queue. A 5xx is a hard bounce at once.
  A copy never causes a DSN; an original that hard-bounces does (BEHAVIOUR.md §4.4, §4.5).

  Background:
    Given a running sandbox with the Threat Defense Connector enabled

  Scenario: Threat Defense is down for an hour, then up: the next retry delivers the copy
    Given Threat Defense is down
    When an outside sender sends a message to 1 local recipient through the public listener
    Then every recipient's mailbox receives the original
    And the mail log shows "TDC: Message \d+ delivery failed to Cisco Secure Email Threat Defense: Connection failed\."
    When 60 minutes pass
    Then Threat Defense receives no journal
    And the copy is still queued for retry
    When Threat Defense comes back up
    And the next retry falls due
    Then Threat Defense receives 1 journal
    And the copy is no longer queued
    And no DSN is sent

  Scenario: Threat Defense is down for more than 72 hours: the copy is hard-bounced, with no DSN
    Given Threat Defense is down
    When an outside sender sends a message to 1 local recipient through the public listener
    And 73 hours pass
    Then the mail log shows "TDC: Message \d+ hard bounced by Cisco Secure Email Threat Defense: Connection failed\. No DSN is sent\."
    And the copy is no longer queued
    And no DSN is sent
    And every recipient's mailbox receives the original

  Scenario: 451 twice, then 250: delivered on the second retry
    Given Threat Defense has the fault "fail-next:2"
    When an outside sender sends a message to 1 local recipient through the public listener
    Then the mail log shows "TDC: Message \d+ delivery failed to Cisco Secure Email Threat Defense: 451 4\.3\.0"
    When 1 minute passes
    Then Threat Defense receives no journal
    When 2 minutes pass
    Then Threat Defense receives 1 journal
    And the mail log shows "TDC: Message \d+ delivery failed to Cisco Secure Email Threat Defense" 2 times

  Scenario: 550 is a hard bounce at once, and still no DSN
    Given Threat Defense has the fault "reply:RCPT=550"
    When an outside sender sends a message to 1 local recipient through the public listener
    Then the mail log shows "TDC: Message \d+ hard bounced by Cisco Secure Email Threat Defense: 550"
    And the copy is no longer queued
    And no DSN is sent
    And every recipient's mailbox receives the original

  Scenario: An original that hard-bounces gets a DSN to its sender; its copy does not bounce
    Given mail for "nobody.example.com" is routed to the Threat Defense endpoint
    When an outside sender sends a message to "ghost@nobody.example.com" through the public listener
    Then the mail log shows "Bounced: DCID \d+ MID \d+ to RID 0 - 5\.1\.0 - Unknown address error \('550', \['5\.1\.1 "
    And the sender receives a DSN naming "ghost@nobody.example.com"
    And Threat Defense receives 1 journal
