@delivery_status
Feature: Monitor > Delivery Status shows the copies under the.tdc.queue
  A copy counts as one active recipient of the.tdc.queue until delivered; each failed attempt adds
  a soft bounce event; the final failure adds a hard bounce (BEHAVIOUR.md §6.1, §6.3).

  Background:
    Given a running sandbox with the Threat Defense Connector enabled

  Scenario: A delivered copy
    When an outside sender sends a message to 1 local recipient through the public listener
    Then Threat Defense receives 1 journal
    And the delivery status of the.tdc.queue on esa1 is:
      | Active Recipients | Connections Out | Delivered Recipients | Soft Bounced Events | Hard Bounced Recipients |
      | 0                 | 0               | 1                    | 0                   | 0                       |

  Scenario: A copy retried twice, then delivered
    Given Threat Defense is down
    When an outside sender sends a message to 1 local recipient through the public listener
    And the next retry falls due
    Then the delivery status of the.tdc.queue on esa1 is:
      | Active Recipients | Connections Out | Delivered Recipients | Soft Bounced Events | Hard Bounced Recipients |
      | 1                 | 0               | 0                    | 2                   | 0                       |
    When Threat Defense comes back up
    And the next retry falls due
    Then the delivery status of the.tdc.queue on esa1 is:
      | Active Recipients | Connections Out | Delivered Recipients | Soft Bounced Events | Hard Bounced Recipients |
      | 0                 | 0               | 1                    | 2                   | 0                       |

  Scenario: A hard-bounced copy
    Given Threat Defense has the fault "reply:RCPT=550"
    When an outside sender sends a message to 1 local recipient through the public listener
    Then the delivery status of the.tdc.queue on esa1 is:
      | Active Recipients | Connections Out | Delivered Recipients | Soft Bounced Events | Hard Bounced Recipients |
      | 0                 | 0               | 0                    | 0                   | 1                       |
    And the delivery status of example.com on esa1 shows 1 delivered recipient

  Scenario: The originals' destination and the copies' destination are counted apart
    When 3 incoming messages are sent through the public listener
    Then the delivery status of the.tdc.queue on esa1 is:
      | Active Recipients | Connections Out | Delivered Recipients | Soft Bounced Events | Hard Bounced Recipients |
      | 0                 | 0               | 3                    | 0                   | 0                       |
    And the delivery status of example.com on esa1 shows 3 delivered recipients
