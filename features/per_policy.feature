@per_policy
Feature: Per-policy journaling: No Scan, Default or Custom Message Intake Address
  Each incoming mail policy chooses where its messages are copied (AsyncOS 15.5.1+); Custom needs
  the connector enabled globally first (BEHAVIOUR.md §2.7, §5.5).

  Background:
    Given a running sandbox with the Threat Defense Connector enabled
    And an incoming mail policy "SALES" for recipients "@sales.example.com"

  Scenario: No Scan: the policy's messages are not copied
    When the administrator sets the Threat Defense option of policy "SALES" to "no-scan" and submits
    And the administrator commits the changes with the comment "no scan for sales"
    And an outside sender sends a message to "bob@sales.example.com" through the public listener
    Then every recipient's mailbox receives the original
    And Threat Defense receives no journal

  Scenario: Default Message Intake Address: copied to the global intake address
    When an outside sender sends a message to "bob@sales.example.com" through the public listener
    Then Threat Defense receives 1 journal
    And the journal went to "sandbox-tenant@intake.threatdefense.test"

  Scenario: Custom Message Intake Address: copied to the second tenant
    When the administrator sets policy "SALES" to the custom intake address "second-tenant@intake.threatdefense.test" and submits
    And the administrator commits the changes with the comment "sales to tenant 2"
    And an outside sender sends a message to "bob@sales.example.com" through the public listener
    Then Threat Defense receives 1 journal
    And the journal went to "second-tenant@intake.threatdefense.test"

  Scenario: A split message follows each splinter's policy
    When the administrator sets policy "SALES" to the custom intake address "second-tenant@intake.threatdefense.test" and submits
    And the administrator commits the changes with the comment "sales to tenant 2"
    And an outside sender sends a message to "ann@example.com" and "bob@sales.example.com"
    Then Threat Defense receives 2 journals
    And the journal for "ann@example.com" went to "sandbox-tenant@intake.threatdefense.test"
    And the journal for "bob@sales.example.com" went to "second-tenant@intake.threatdefense.test"

  Scenario: Custom is refused while the connector is disabled globally
    Given the connector was disabled and committed
    When the administrator sets policy "SALES" to the custom intake address "second-tenant@intake.threatdefense.test" and submits
    Then the submit is refused because "enabled globally first"
    And nothing is pending

  Scenario: An unknown policy is named in the refusal
    When the administrator sets the Threat Defense option of policy "MARKETING" to "no-scan" and submits
    Then the submit is refused because "unknown incoming mail policy 'MARKETING'"
