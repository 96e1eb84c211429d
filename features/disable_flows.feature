@disable_flows
Feature: Enabling and disabling the connector takes Submit, then Commit
  Security Services > Threat Defense Connector > Enable (or Edit Global Settings), Submit, then
  commit the changes. Until the commit, nothing changes (BEHAVIOUR.md §1, §5.1, §5.4).

  Background:
    Given a running sandbox with the Threat Defense Connector disabled

  Scenario: Enable, submit and commit: copies flow
    When the administrator enables the connector with the intake address "sandbox-tenant@intake.threatdefense.test" and submits
    And the administrator commits the changes with the comment "enable TDC"
    Then the answer is "Changes committed: <date>"
    When an outside sender sends a message to 1 local recipient through the public listener
    Then Threat Defense receives 1 journal

  Scenario: Submitted but not committed: no copies yet
    When the administrator enables the connector with the intake address "sandbox-tenant@intake.threatdefense.test" and submits
    And an outside sender sends a message to 1 local recipient through the public listener
    Then every recipient's mailbox receives the original
    And Threat Defense receives no journal
    And changes are pending

  Scenario: Disable through Edit Global Settings, submit and commit: originals flow, copies stop
    Given the connector was enabled with the intake address "sandbox-tenant@intake.threatdefense.test" and committed
    When the administrator disables the connector and submits
    And the administrator commits the changes with the comment "disable TDC"
    And an outside sender sends a message to 1 local recipient through the public listener
    Then every recipient's mailbox receives the original
    And Threat Defense receives no journal

  Scenario Outline: The same disable flow through the <surface>: submitted, committed, re-enabled
    Given the connector was enabled with the intake address "sandbox-tenant@intake.threatdefense.test" and committed
    And the administrator works through the <surface>
    When the administrator disables the connector and submits
    Then changes are pending
    And the connector is enabled on esa1, set at level "cluster"
    When the administrator commits the changes with the comment "disable TDC"
    Then the answer is "Changes committed: <date>"
    And nothing is pending
    And the connector is disabled on esa1, set at level "cluster"
    When an outside sender sends a message to 1 local recipient through the public listener
    Then every recipient's mailbox receives the original
    And Threat Defense receives no journal
    When the administrator enables the connector with the intake address "sandbox-tenant@intake.threatdefense.test" and submits
    And the administrator commits the changes with the comment "enable TDC"
    Then the answer is "Changes committed: <date>"
    And the connector is enabled on esa1, set at level "cluster"
    When an outside sender sends a message to 1 local recipient through the public listener
    Then Threat Defense receives 1 journal

    Examples:
      | surface |
      | API     |
      | CLI     |

  Scenario: Re-enable after a disable
    Given the connector was enabled with the intake address "sandbox-tenant@intake.threatdefense.test" and committed
    When the administrator disables the connector and submits
    And the administrator commits the changes with the comment "off"
    And the administrator enables the connector with the intake address "sandbox-tenant@intake.threatdefense.test" and submits
    And the administrator commits the changes with the comment "on again"
    And an outside sender sends a message to 1 local recipient through the public listener
    Then Threat Defense receives 1 journal

  Scenario Outline: An invalid intake address is refused at Submit and nothing changes: <case>
    When the administrator enables the connector with the intake address "<address>" and submits
    Then the submit is refused because "<reason>"
    And nothing is pending
    And the connector is disabled on esa1

    Examples:
      | case               | address                                            | reason                 |
      | empty              |                                                    | is empty               |
      | two addresses      | a@intake.threatdefense.test, b@intake.threatdefense.test | not several      |
      | a line break       | a@intake.threatdefense.test<CRLF>Bcc: x@evil.test  | line break             |
      | a space            | tenant one@intake.threatdefense.test               | contains spaces        |
      | no domain          | tenant                                             | not a local@domain     |

  Scenario: Commit with nothing pending
    When the administrator commits the changes with the comment "nothing"
    Then the answer is "There is no data to commit."

  Scenario: Clearing pending changes discards them
    When the administrator enables the connector with the intake address "sandbox-tenant@intake.threatdefense.test" and submits
    And the administrator clears the pending changes
    Then nothing is pending
    When the administrator commits the changes with the comment "nothing left"
    Then the answer is "There is no data to commit."

  @bad_input
  Scenario: tdcsim refuses an invalid intake address with exit status 2 and one line; nothing changes
    Given the administrator works through the CLI
    When the administrator enables the connector with the intake address "tenant one@intake.threatdefense.test" and submits
    Then tdcsim exits with status 2 and a one-line reason
    And the submit is refused because "contains spaces"
    And nothing is pending
    And the connector is disabled on esa1
