@our_journal
Feature: Our mail team's expectations of the Threat Defense Connector
  Written by a team that installed tdc-simulator: the steps come from the package's step library.

  Background:
    Given a running sandbox with the Threat Defense Connector enabled

  Scenario: Mail from outside reaches the mailbox and Threat Defense gets one journal
    When an outside sender sends a message to 2 local recipients through the public listener
    Then the gateway answers 250 and names the MID
    And every recipient's mailbox receives the original
    And Threat Defense receives 1 journal
    And the mail log shows "TDC: Message \d+ delivered to Cisco Secure Email Threat Defense\."

  Scenario: Mail our staff send out is never copied
    When an internal sender relays a message to 1 outside recipient through the private listener
    Then every recipient's mailbox receives the original
    And Threat Defense receives no journal
