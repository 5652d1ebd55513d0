# Login shells find the runtime in /opt/jre.
export JAVA_HOME=/opt/jre
export PATH="$JAVA_HOME/bin:$PATH"
