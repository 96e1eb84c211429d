@smtp_routes
Feature: The copies follow the SMTP routes: the documented catch-all pitfall and its fix
  With custom SMTP routes, the intake domain must be delivered by DNS: a catch-all route without a
  USEDNS route for the intake domain sends the copies to the wrong host (BEHAVIOUR.md §4.6).

  Background:
    Given a running sandbox with the Threat Defense Connector enabled
    And the administrator added the SMTP route "ALL" to the mailbox host and committed

  Scenario: A catch-all route swallows the copies
    When an outside sender sends a message to 1 local recipient through the public listener
    Then every recipient's mailbox receives the original
    And Threat Defense receives no journal
    And the copy landed in the mailbox host's box for the intake address

  Scenario: Adding "<intake domain> USEDNS" sends the copies to Threat Defense again
    Given the administrator added the SMTP route "intake.threatdefense.test" to "USEDNS" and committed
    When an outside sender sends a message to 1 local recipient through the public listener
    Then Threat Defense receives 1 journal
    And nothing reached the mailbox host's box for the intake address
