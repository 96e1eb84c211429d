@inbound_only
Feature: Only incoming mail that is safe to deliver is copied to Threat Defense
  The gateway sends a journal copy of each incoming message once every scanning engine has passed
  it, one copy per delivered splinter, and copies nothing else (BEHAVIOUR.md §2).

  Background:
    Given a running sandbox with the Threat Defense Connector enabled

  Scenario: An incoming delivered message gets exactly one journal copy
    When an outside sender sends a message to 1 local recipient through the public listener
    Then the gateway answers 250 and names the MID
    And every recipient's mailbox receives the original
    And Threat Defense receives 1 journal
    And the mail log shows "TDC: Message \d+ delivered to Cisco Secure Email Threat Defense\."

  Scenario: An outgoing message relayed by an internal host is not copied
    When an internal sender relays a message to 1 outside recipient through the private listener
    Then every recipient's mailbox receives the original
    And Threat Defense receives no journal
    And the mail log shows "matched all recipients for per-recipient policy DEFAULT in the outbound table"

  Scenario: A message from an SMTP-AUTH session is outgoing and not copied
    When an authenticated user sends a message to 1 outside recipient through the public listener
    Then every recipient's mailbox receives the original
    And Threat Defense receives no journal
    And the mail log shows "SMTP authentication succeeded for user: sandbox"

  Scenario: A virus is dropped by anti-virus and not copied
    When an outside sender sends a message carrying EICAR to 1 local recipient
    Then the mail log shows "antivirus positive 'EICAR-AV-Test'"
    And the mail log shows "Message aborted MID \d+ Dropped by antivirus"
    And no mailbox receives anything
    And Threat Defense receives no journal

  Scenario: Spam is quarantined by anti-spam and not copied
    When an outside sender sends a message carrying GTUBE to 1 local recipient
    Then the mail log shows "using engine: CASE spam positive"
    And the mail log shows "quarantined to \"Spam Quarantine\""
    And no mailbox receives anything
    And Threat Defense receives no journal

  Scenario: A message quarantined by a content filter is not copied
    Given a content filter "hold_invoices" that quarantines messages whose Subject contains "invoice"
    When an outside sender sends a message with the subject "Your invoice 42" to 1 local recipient
    Then the mail log shows "quarantined to \"Policy\" \(content filter:hold_invoices\)"
    And no mailbox receives anything
    And Threat Defense receives no journal

  Scenario: A message split across two mail policies gets one copy per splinter
    Given an incoming mail policy "SALES" for recipients "@sales.example.com"
    When an outside sender sends a message to "ann@example.com" and "bob@sales.example.com"
    Then the mail log shows "MID \d+ was split creating MID \d+ due to a per-recipient policy SALES in the inbound table"
    And every recipient's mailbox receives the original
    And Threat Defense receives 2 journals
    And each journal lists only the recipients of its own splinter

  Scenario: Five recipients under one policy get one copy, not five
    When an outside sender sends a message to 5 local recipients through the public listener
    Then every recipient's mailbox receives the original
    And Threat Defense receives 1 journal
    And the journal's report has 5 "To:" lines

  Scenario: With the connector disabled, originals still flow and nothing is copied
    Given the Threat Defense Connector is disabled
    When an outside sender sends a message to 1 local recipient through the public listener
    Then every recipient's mailbox receives the original
    And Threat Defense receives no journal
