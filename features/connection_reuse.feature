@connection_reuse
Feature: The connector sends at most 10 copies per connection
  Threat Defense takes at most 10 messages per connection from a gateway, so a queue of copies
  goes out over as many connections as it needs (BEHAVIOUR.md §4.3, §8.3).

  Scenario: 25 queued copies go out over three connections: 10, 10 and 5
    Given a running sandbox with the Threat Defense Connector enabled
    And Threat Defense is down
    When 25 incoming messages are sent through the public listener
    Then the.tdc.queue holds 25 copies
    When Threat Defense comes back up
    And the next retry falls due
    Then Threat Defense receives 25 journals
    And the journals arrived over 3 connections carrying 10, 10 and 5
