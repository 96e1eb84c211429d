@clustering
Feature: The connector at cluster, group and machine level
  Centralized management: a value set at a more specific level wins (machine > group > cluster),
  and disabling the connector at machine level disables it at group and cluster level too
  (BEHAVIOUR.md §1, §5.2, §5.3).

  Scenario: Enabled at cluster level reaches every machine
    Given a running cluster of 2 machines with the Threat Defense Connector disabled
    When the administrator enables the connector at level "cluster" with the intake address "sandbox-tenant@intake.threatdefense.test" and submits
    And the administrator commits the changes with the comment "cluster-wide"
    Then the connector is enabled on esa1, set at level "cluster"
    And the connector is enabled on esa2, set at level "cluster"
    When an outside sender sends a message through the public listener of each machine
    Then Threat Defense receives 1 journal from each of esa1, esa2

  Scenario: A group-level value overrides the cluster for that group only
    Given a running cluster with esa1 in group "Main_Group" and esa2 in group "Edge", the connector enabled
    When the administrator disables the connector at level "group:Edge" and submits
    And the administrator commits the changes with the comment "edge off"
    Then the connector is enabled on esa1, set at level "cluster"
    And the connector is disabled on esa2, set at level "group:Edge"
    When an outside sender sends a message through the public listener of each machine
    Then Threat Defense receives 1 journal from each of esa1

  Scenario: Disabled at machine level means disabled at group and cluster level too
    Given a running cluster of 2 machines with the Threat Defense Connector enabled
    When the administrator disables the connector at level "machine:esa2" and submits
    And the administrator commits the changes with the comment "esa2 off"
    Then the connector is disabled on esa2, set at level "machine:esa2"
    And the connector is disabled on esa1, set at level "group:Main_Group"
    When an outside sender sends a message through the public listener of each machine
    Then Threat Defense receives no journal

  Scenario Outline: The machine-disable rule, read literally or as plain most-specific-wins: <rule>
    Given a running cluster of 2 machines with the Threat Defense Connector enabled and the disable rule "<rule>"
    When the administrator disables the connector at level "machine:esa2" and submits
    And the administrator commits the changes with the comment "esa2 off"
    And an outside sender sends a message through the public listener of each machine
    Then Threat Defense receives <count> journals

    Examples:
      | rule          | count |
      | propagate     | 0     |
      | most-specific | 1     |

  Scenario: An unknown machine or group is named in the refusal
    Given a running cluster of 2 machines with the Threat Defense Connector enabled
    When the administrator disables the connector at level "machine:esa9" and submits
    Then the submit is refused because "unknown machine 'esa9'"
    When the administrator disables the connector at level "group:Sales" and submits
    Then the submit is refused because "unknown group 'Sales'"

  Scenario: tophosts answers in machine mode only
    Given a running cluster of 2 machines with the Threat Defense Connector enabled
    When an outside sender sends a message through the public listener of each machine
    And the administrator asks the admin API for tophosts without choosing a machine
    Then the admin API refuses because "machine mode only"
    When the administrator asks the admin API for tophosts on esa2
    Then the answer lists the.tdc.queue with 1 delivered recipient
