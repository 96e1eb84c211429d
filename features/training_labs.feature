@training_labs
Feature: Training labs are checked against the sandbox's real state
  A lab is done when what it asks for is true of the running sandbox: the committed configuration,
  the journals Threat Defense received, the faults and the queues; never because a button was
  pressed (BEHAVIOUR.md §11.2). The first lab walks the chapter's procedure (§11.3).

  Background:
    Given a running sandbox with the Threat Defense Connector disabled

  Scenario: Enabling the connector is done only once it is committed and a journal arrived
    When the trainee checks the lab "enable-connector"
    Then the lab is not done, saying "the connector is disabled at cluster level"
    When the administrator enables the connector with the intake address "sandbox-tenant@intake.threatdefense.test" and submits
    And the trainee checks the lab "enable-connector"
    Then the lab is not done, saying "not committed"
    When the administrator commits the changes with the comment "lab 1"
    And an outside sender sends a message to 1 local recipient through the public listener
    Then Threat Defense receives 1 journal
    When the trainee checks the lab "enable-connector"
    Then the lab is done

  Scenario: A TLS error is found and fixed: the waiting copy arrives
    When the trainee starts the lab "tls-error"
    And an outside sender sends a message to 1 local recipient through the public listener
    Then the mail log shows, for the copy, "TDC: Message <copy MID> delivery failed to Cisco Secure Email Threat Defense: TLS Error."
    When the trainee checks the lab "tls-error"
    Then the lab is not done, saying "untrusted-cert"
    When Threat Defense's faults are cleared
    And the next retry falls due
    Then Threat Defense receives 1 journal
    When the trainee checks the lab "tls-error"
    Then the lab is done

  Scenario: An unknown lab is refused with the closest name
    When the trainee checks the lab "enable-conector"
    Then the lab is unknown, the answer suggesting "enable-connector"
