# a policy that was never written
   # nothing here
