@verdicts
Feature: Threat Defense gives each copy a verdict and, in read/write mode, remediates the original
  Verdicts are BEC, Scam, Phishing, Malicious, Spam, Graymail or Neutral, decided from the content;
  the true sender is the one the gateway saw (X-IronPort-RemoteIP). In read mode Threat Defense
  records verdicts only; in read/write mode it moves the original in the recipient's mailbox to
  Quarantine, Trash or Junk (BEHAVIOUR.md §8.5, §8.6).

  Scenario Outline: <verdict> content gets the verdict <verdict>
    Given a running sandbox with the Threat Defense Connector enabled
    When an outside sender sends a message with the subject "<subject>" to 1 local recipient
    Then Threat Defense receives 1 journal
    And Threat Defense's verdict is "<verdict>"
    And Threat Defense names 127.0.0.1 as the true sender

    Examples:
      | subject                              | verdict  |
      | Please verify your account today     | Phishing |
      | Wire transfer needed before noon     | BEC      |
      | You have won the lottery             | Scam     |
      | Our monthly newsletter               | Graymail |
      | Minutes of Tuesday's meeting         | Neutral  |

  Scenario: Read mode records the verdict and leaves the original where it is
    Given a running sandbox with the Threat Defense Connector enabled
    When an outside sender sends a message with the subject "Please verify your account" to 1 local recipient
    Then Threat Defense's verdict is "Phishing"
    And the original is still in the recipient's inbox

  Scenario Outline: Read/write mode moves a <verdict> original to <folder>
    Given a running sandbox whose Threat Defense is in read-write mode
    When an outside sender sends a message with the subject "<subject>" to 1 local recipient
    Then Threat Defense's verdict is "<verdict>"
    And the original was moved to the recipient's <folder> folder

    Examples:
      | subject                           | verdict  | folder      |
      | Please verify your account today  | Phishing | .Quarantine |
      | Wire transfer needed before noon  | BEC      | .Trash      |
      | Limited time offer, buy now       | Spam     | .Junk       |

  Scenario: Read/write mode leaves a neutral original in the inbox
    Given a running sandbox whose Threat Defense is in read-write mode
    When an outside sender sends a message with the subject "Minutes of Tuesday's meeting" to 1 local recipient
    Then Threat Defense's verdict is "Neutral"
    And the original is still in the recipient's inbox
