#!/bin/bash
# What the public image's script of this name runs: the API versions each broker answers.
exec java -Xmx128m -Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties \
    -cp "/opt/kafka/libs/*" kafka.admin.BrokerApiVersionsCommand "$@"
